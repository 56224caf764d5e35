"""Tables of the scale benchmark (bench/scale.py): the plain-text report of one size, the growth table
across sizes, and `--report`: the Markdown tables for BENCHMARKS.md, from bench/results-scale.json."""

from __future__ import annotations

import json

UPLOAD_LIMIT = 10 * 2**20  # bytes: a server's upload limit without boosts
ORDER = ("10k", "100k", "1m")  # the sizes a growth table shows


def mb(n: int | float) -> float:
    return round(n / 2**20, 1)


def na(value, fmt: str = "{}") -> str:
    if value is None or value == "n/a" or isinstance(value, dict):
        return "n/a"
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return str(value)


def get(results: dict, *path, default="n/a"):
    for key in path:
        if not isinstance(results, dict) or key not in results:
            return default
        results = results[key]
    return results


def print_size(results: dict) -> None:
    print(f"\nArchivist at {results['size']}: {json.dumps(results['scale'])}")
    table = results.get("interactions") or {}
    if table:
        print("the bot's time per interaction (ms), measured inside the bot; × ping = p99 / the ping's p99")
        print(
            f"{'interaction':40} {'p50':>8} {'p99':>8} {'× ping':>7} {'handler99':>10} {'trips':>6} {'n':>5}"
        )
        for name, row in sorted(table.items(), key=lambda kv: kv[0] != "ping"):
            print(
                f"{name:40} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} {row['ratio_to_ping_p99']:7.1f} "
                f"{row['handler_p99_ms']:10.2f} {na(row['db_trips_p50']):>6} {row['n']:5}"
            )
    for key in ("seed", "startup", "restart_unchanged", "restart_10_threads_changed", "largest_episode", "search",
                "export", "burst"):  # fmt: skip
        if key in results:
            print(f"\n{key}:")
            for k, v in results[key].items():
                print(f"  {k:45} {json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v}")
    for key in ("peak_rss_mb", "gc_full_collections_during_interactions", "gc_full_collection_max_ms",
                "broken_interactions", "bot_errors", "failed_sections"):  # fmt: skip
        if key in results:
            print(f"{key:47} {results[key]}")


GROWTH = (
    ("seeding, s (simcord / database)", lambda r: f"{na(get(r, 'seed', 'simcord_s'))} / {na(get(r, 'seed', 'database_s'))}"),
    ("database file, MB", lambda r: na(get(r, "seed", "database_mb"))),
    ("start-up to ready, ms", lambda r: na(get(r, "startup", "to_ready_ms"))),
    ("restart, unchanged: requests until caught up", lambda r: na(get(r, "restart_unchanged", "requests_until_caught_up"))),
    ("… GET /messages / GET /channels", lambda r: f"{_route(r, 'GET /channels/{id}/messages')} / {_route(r, 'GET /channels/{id}')}"),
    ("… DB trips until caught up", lambda r: na(get(r, "restart_unchanged", "db_trips_until_caught_up"))),
    ("… requests in the background after", lambda r: na(get(r, "restart_unchanged", "requests_in_background"))),
    ("restart, 10 threads changed: requests", lambda r: na(get(r, "restart_10_threads_changed", "requests_until_caught_up"))),
    ("ping p50 / p99, ms", lambda r: f"{na(get(r, 'interactions', 'ping', 'p50_ms'))} / {na(get(r, 'interactions', 'ping', 'p99_ms'))}"),
    ("slowest command p99, ms (× ping p99)", lambda r: _slowest(r)),
    ("episode info, largest episode, p50 ms", lambda r: na(get(r, "largest_episode", "episode_info", "p50_ms"))),
    ("research credits, largest episode, p50 ms", lambda r: na(get(r, "largest_episode", "research_credits", "p50_ms"))),
    ("… of a typical episode in the same database, p50 ms", lambda r: na(get(r, 'largest_episode', 'typical_research_credits', 'p50_ms'))),
    ("autocomplete research mark, largest episode, p99 ms", lambda r: na(get(r, "largest_episode", "autocomplete_research_mark", "p99_ms"))),
    ("search storage: rare / \"the\", p50 ms", lambda r: f"{na(get(r, 'search', 'rare_storage', 'p50_ms'))} / {na(get(r, 'search', 'common_storage', 'p50_ms'))}"),
    ("search command: rare / \"the\", p50 ms", lambda r: f"{na(get(r, 'search', 'rare_command', 'p50_ms'))} / {na(get(r, 'search', 'common_command', 'p50_ms'))}"),
    ("export of the largest episode (Markdown): time, MB, files", lambda r: _export(r)),
    ("… loop held longest, ms / RSS growth MB", lambda r: f"{na(get(r, 'export', 'markdown', 'loop_longest_ms'))} / {na(get(r, 'export', 'markdown', 'peak_rss_growth_mb'))}"),
    ("DM burst: reminders / requests", lambda r: f"{na(get(r, 'burst', 'reminders'))} / {na(get(r, 'burst', 'requests'))}"),
    ("… most in any second / would meet 429", lambda r: f"{na(get(r, 'burst', 'max_requests_in_any_second'))} / {na(get(r, 'burst', 'would_meet_429'))}"),
    ("peak RSS, MB (simulator included)", lambda r: na(get(r, "peak_rss_mb"))),
)  # fmt: skip


def _route(r: dict, name: str) -> str:
    return na(get(r, "restart_unchanged", "requests_until_caught_up_by_route", name, default=0))


def _slowest(r: dict) -> str:
    table = {k: v for k, v in (r.get("interactions") or {}).items() if k != "ping"}
    if not table:
        return "n/a"
    name, row = max(table.items(), key=lambda kv: kv[1]["p99_ms"])
    return f"{row['p99_ms']:.1f} ({row['ratio_to_ping_p99']}×, {name})"


def _export(r: dict) -> str:
    e = get(r, "export", "markdown")
    if not isinstance(e, dict):
        return "n/a"
    took = e["last_file_sent_ms"] if e["last_file_sent_ms"] != "n/a" else e["handler_ms"]
    return f"{na(took, '{:.0f}')} ms, {mb(e['bytes'])} MB, {e['files']}"


def growth_table(all_results: dict[str, dict]) -> list[str]:
    sizes = [s for s in ORDER if s in all_results]
    lines = [f"| measure | {' | '.join(sizes)} |", f"| --- | {' | '.join('---:' for _ in sizes)} |"]
    for label, figure in GROWTH:
        lines.append(f"| {label} | {' | '.join(_safe(figure, all_results[s]) for s in sizes)} |")
    return lines


def _safe(figure, results: dict) -> str:
    try:
        return figure(results)
    except Exception:
        return "n/a"


# -- Markdown for BENCHMARKS.md ---------------------------------------------------------------------------


def _yes(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "**no**")


def _bot_rss(e: dict) -> float:
    """An export's peak RSS growth that is the bot's: simcord keeps a copy of every uploaded file in the
    benchmark's process (against Discord the bytes leave through the socket), so that copy is taken out."""
    less = _num(e.get("peak_rss_growth_less_simulator_files_mb"))
    return less if less is not None else e["peak_rss_growth_mb"]


def _count(r: dict, key: str) -> str:
    value = get(r, "largest_episode", key)
    return f"{value:,}" if isinstance(value, int) else str(value)


def _ac_ok(r: dict, *answers: dict) -> bool | None:
    """Whether the autocomplete's p99s stay under 15 × the ping's p99."""
    ping = _num(get(r, "interactions", "ping", "p99_ms"))
    p99s = [_num(a.get("p99_ms")) for a in answers]
    if ping is None or any(p is None for p in p99s):
        return None
    return all(p <= 15 * ping for p in p99s)  # type: ignore[operator]


def _num(value) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _restart_cells(r: dict, key: str) -> tuple[str, int | None]:
    routes = get(r, key, "requests_until_caught_up_by_route", default={})
    if not isinstance(routes, dict):
        return "n/a", None
    reads = routes.get("GET /channels/{id}/messages", 0) + routes.get("GET /channels/{id}", 0)
    text = (
        f"{get(r, key, 'requests_until_caught_up')} requests until caught up "
        f"({routes.get('GET /channels/{id}/messages', 0)} `GET /messages`, {routes.get('GET /channels/{id}', 0)} "
        f"`GET /channels/{{id}}`), {get(r, key, 'db_trips_until_caught_up')} DB trips; in the background "
        f"after: {get(r, key, 'requests_in_background')} requests over {get(r, key, 'background_virtual_s')} s, "
        f"at most {get(r, key, 'requests_in_background_max_per_second')} in any second"
    )
    return text, reads


def targets(r: dict, small: dict | None) -> list[str]:
    """The issue's targets, measured at the size of `r` (`small`: the smallest size, for 'constant')."""
    scale = r["scale"]
    rows = ["| what | measured | target | met |", "| --- | --- | --- | --- |"]
    n_threads, per = scale["threads_with_messages"], scale["messages_per_thread"]
    archived = scale["episodes"] - 10 - n_threads  # R000–R009 are active, made through the command
    text, reads = _restart_cells(r, "restart_unchanged")
    rows.append(f"| restart with {n_threads} unchanged threads of {per} messages and {archived} archived ones | {text} "
                f"| ~0 requests for unchanged threads; reconciliation within a fixed budget | {_yes(None if reads is None else reads <= 1)} |")  # fmt: skip
    text, reads = _restart_cells(r, "restart_10_threads_changed")
    changed = get(r, "restart_10_threads_changed", "threads_changed")
    rows.append(f"| restart after {get(r, 'restart_10_threads_changed', 'messages_posted_offline')} messages in "
                f"{changed} threads | {text}; {get(r, 'restart_10_threads_changed', 'collected')} collected "
                f"| ≤ 1 request per thread with new messages | {_yes(None if reads is None else reads <= changed)} |")  # fmt: skip
    ing = r.get("ingest") or {}
    if ing:
        rate = _num(ing.get("messages_per_s"))
        rows.append(f"| batched ingest of {ing['messages']:,} messages posted while away (pages of 100 read, "
                    f"{ing.get('pages_per_write', 1)} stored per transaction, stored counts and sources included) | {na(rate, '{:,.0f}')} messages/s, event loop held ≤ "
                    f"{ing.get('loop_stall_max_ms')} ms | ≥ 5,000 messages/s | {_yes(None if rate is None else rate >= 5000)} |")  # fmt: skip
    b = r.get("burst") or {}
    if b:
        most, over = _num(b.get("max_requests_in_any_second")), _num(b.get("would_meet_429"))
        rows.append(
            f"| {b['reminders']:,} private reminders of as many members due at once | {b['requests']:,} requests "
            f"({b['dm_messages']:,} DMs, {b['dm_channels_opened']:,} DM channels opened) over "
            f"{b['virtual_s_first_to_last']} s; at most {most} in any second; {over} would have met a 429; "
            f"{b['delivered']:,} delivered | ≤ 50 in any second, 0 × 429 | "
            f"{_yes(None if most is None else most <= 50 and over == 0)} |"
        )
        other = _num(b.get("other_kind_s_after_first_dm"))
        if other is not None:
            rows.append(
                f"| … a deadline reminder (another kind of job) due at the same instant | posted {other} s after "
                f"the first DM (the burst lasted {b['virtual_s_first_to_last']} s) | within the burst's first "
                f"seconds (kinds take turns) | {_yes(other <= 5)} |"
            )
    e = get(r, "export", "markdown", default=None)
    if isinstance(e, dict):
        took = e["last_file_sent_ms"] if e["last_file_sent_ms"] != "n/a" else e["handler_ms"]
        fits = e["files"] >= 1 and e["largest_file_bytes"] <= UPLOAD_LIMIT
        rows.append(f"| export of the largest episode ({scale['largest_episode']:,} contributions), Markdown | "
                    f"{na(took, '{:,.0f}')} ms, {mb(e['bytes'])} MB in {e['files']} file(s), the largest "
                    f"{mb(e['largest_file_bytes'])} MB | any size, in parts within the upload limit | {_yes(fits)} |")  # fmt: skip
        stall, growth = _num(e["loop_longest_ms"]), _num(e["peak_rss_growth_mb"])
        rows.append(f"| … building it: event loop held, longest; peak RSS growth | {stall} ms "
                    f"({e['loop_over_20ms']} steps over 20 ms; simcord reading the uploads in the bot's task, taken out: "
                    f"{e.get('simulator_in_loop_longest_ms', 'n/a')} ms); {growth} MB "
                    f"({e['peak_rss_growth_less_simulator_files_mb']} MB less the simulator's copy of the files) "
                    f"| ≤ 20 ms; ≤ 100 MB (the bot's) | {_yes(None if stall is None or growth is None else stall <= 20 and _bot_rss(e) <= 100)} |")  # fmt: skip
    for fmt in ("json", "csv"):
        e = get(r, "export", fmt, default=None)
        if isinstance(e, dict):
            took = e["last_file_sent_ms"] if e["last_file_sent_ms"] != "n/a" else e["handler_ms"]
            rows.append(f"| … the same in {fmt.upper()} | {na(took, '{:,.0f}')} ms, {mb(e['bytes'])} MB in "
                        f"{e['files']} file(s); loop held {e['loop_longest_ms']} ms (simcord's part apart: {e.get('simulator_in_loop_longest_ms', 'n/a')} ms); RSS +{e['peak_rss_growth_mb']} MB "
                        f"({e['peak_rss_growth_less_simulator_files_mb']} MB less the simulator's copy of the files) "
                        f"| as above | {_yes(e['loop_longest_ms'] <= 20 and _bot_rss(e) <= 100 and e['largest_file_bytes'] <= UPLOAD_LIMIT)} |")  # fmt: skip
    rare, common = get(r, "search", "rare_storage", "p50_ms"), get(r, "search", "common_storage", "p50_ms")
    rows.append(f"| `/research search` over {scale['contributions']:,}: a rare word / \"the\" (storage, p50) | "
                f"{rare} / {common} ms ({get(r, 'search', 'rare_storage', 'matches')} / "
                f"{get(r, 'search', 'common_storage', 'matches')} matches); the command: "
                f"{get(r, 'search', 'rare_command', 'p50_ms')} / {get(r, 'search', 'common_command', 'p50_ms')} ms "
                f"| ≤ 5 ms / ≤ 20 ms | {_yes(None if _num(rare) is None or _num(common) is None else rare <= 5 and common <= 20)} |")  # fmt: skip
    for key, name in (("episode_info", "/episode info"), ("research_credits", "/research credits")):
        value = get(r, "largest_episode", key, "p50_ms")
        base = get(small, "largest_episode", key, "p50_ms") if small else "n/a"
        typical = get(r, "largest_episode", f"typical_{key}", "p50_ms")
        big = f"{_count(r, 'largest_contributions')} contributions, {_count(r, 'largest_credited')} people"
        beside = f"{_count(r, 'typical_contributions')} contributions, {_count(r, 'typical_credited')} people"
        # constant in the episode's size: the largest episode within the noise of a typical one of the same
        # database (half again, plus half a millisecond)
        ok = None if _num(value) is None or _num(typical) is None else value <= 1.5 * typical + 0.5
        rows.append(f"| `{name}`, p50: the largest episode ({big}) / a typical one in the same database "
                    f"({beside}) | {value} / {typical} ms (at {small['size'] if small else '?'}, the largest: "
                    f"{base} ms) | constant | {_yes(ok)} |")  # fmt: skip
    ac, typed = (get(r, "largest_episode", k, default={}) for k in ("autocomplete_research_mark",
                                                             "autocomplete_research_mark_typed"))  # fmt: skip
    rows.append(f"| autocomplete of `/research mark` on the largest episode, nothing / `9` typed, p50 / p99 | "
                f"{ac.get('p50_ms', 'n/a')} / {ac.get('p99_ms', 'n/a')} ms, {typed.get('p50_ms', 'n/a')} / "
                f"{typed.get('p99_ms', 'n/a')} ms | under 15 × the ping's p99 | "
                f"{_yes(_ac_ok(r, ac, typed))} |")  # fmt: skip
    table = r.get("interactions") or {}
    trips = ", ".join(
        f"{n} {table[n]['db_trips_p50']}" for n in ("episode status", "episode claim") if n in table
    )
    rows.append(
        f"| `episode status` / `claim` handlers, DB trips (whole handler, p50) | {trips or 'n/a'} | "
        "one trip per use case where the reads allow it | — (the whole handler, card, tags and note after the answer included) |"
    )
    if table.get("ping"):
        over = sorted(
            ((v["ratio_to_ping_p99"], n) for n, v in table.items() if v["ratio_to_ping_p99"] > 15),
            reverse=True,
        )
        listed = "; ".join(f"`{n}` {table[n]['p99_ms']:.1f} ms = {ratio} ×" for ratio, n in over) or "none"
        rows.append(f"| every interactive command under 15 × the ping's p99 ({table['ping']['p99_ms']:.2f} ms) | "
                    f"over it: {listed} | ≤ 15 × | {_yes(not over)} |")  # fmt: skip
    rows.append(f"| start-up to ready ({get(r, 'seed', 'database_mb')} MB database) | "
                f"{get(r, 'startup', 'to_ready_ms')} ms (the bot's own `setup_hook`: {get(r, 'startup', 'setup_hook_ms')} ms) "
                f"| — | |")  # fmt: skip
    rows.append(
        f"| peak RSS of the benchmark's process (simulator included) | {get(r, 'peak_rss_mb')} MB | — | |"
    )
    return rows


def interactions_markdown(r: dict) -> list[str]:
    table = r.get("interactions") or {}
    rows = [
        "| interaction | answer p50 ms | answer p99 ms | × ping p99 | handler p99 ms | DB trips (p50) | n |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in sorted(table.items(), key=lambda kv: kv[0] != "ping"):
        rows.append(f"| {name} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['ratio_to_ping_p99']} | "
                    f"{row['handler_p99_ms']:.2f} | {na(row['db_trips_p50'])} | {row['n']} |")  # fmt: skip
    return rows


def markdown_report(all_results: dict[str, dict]) -> list[str]:
    sizes = [s for s in ORDER if s in all_results]
    if not sizes:
        return ["(no results)"]
    top = all_results[sizes[-1]]
    small = all_results[sizes[0]] if len(sizes) > 1 else None
    machine = top.get("machine", {})
    lines = [f"Figures of {machine.get('date', '?')} (commit {machine.get('commit', '?')}), runtime per size: "
             + ", ".join(f"{s} {all_results[s].get('runtime_s', '?')} s" for s in sizes) + ".", ""]  # fmt: skip
    lines += [f"### Targets at {top['size']}", "", *targets(top, small), ""]
    lines += [f"### Interactions at {top['size']}", "", *interactions_markdown(top), ""]
    if len(sizes) > 1:
        lines += ["### Growth", "", *growth_table(all_results), ""]
    return lines
