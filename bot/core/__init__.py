"""The core every feature is built on: database, scheduler, delivery, interaction handling, shared UI and time parsing."""
