"""Research collection: contributions from threads, forms and the message menu; search, export, credits."""
