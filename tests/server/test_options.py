"""The server's options: camelCase keys, one converter per key, each bad value dropped alone and said."""

from __future__ import annotations

from lsp_server.server.options import Features, ServerOptions, parse_options, snake


def test_valid_options_split_into_engine_and_server_parts() -> None:
    options, problems = parse_options(
        {"model": "minilm", "duplicateThreshold": 0.8, "maxResults": 5, "worker": " remote://h:1 "}, "src"
    )
    assert problems == []
    assert options.engine == {"model": "minilm", "duplicate_threshold": 0.8}
    assert options.max_results == 5 and options.worker == "remote://h:1"
    assert options.embedder_spec == "remote://h:1"


def test_each_bad_value_falls_back_alone_with_a_message() -> None:
    options, problems = parse_options(
        {
            "bogusSetting": 1,
            "hoverThreshold": 2,
            "indexDelayMs": True,
            "completionBudgetMs": 70_000,
            "maxResults": 7,
            "worker": "",
            "duplicateThreshold": "high",
            "features": {"codeLens": False, "diagnostics": "yes", "nope": True},
        },
        "codekin settings",
    )
    assert options.max_results == 7 and options.features == Features(code_lens=False)
    assert (options.hover_threshold, options.index_delay_ms, options.completion_budget_ms) == (0.3, 200, 250)
    assert options.worker is None and "duplicate_threshold" not in options.engine
    assert problems[:5] == [
        "codekin settings: unknown setting 'bogusSetting' ignored",
        "codekin settings: 'hoverThreshold' must be a number between -1 and 1",
        "codekin settings: 'indexDelayMs' must be a whole number from 0 to 60000",
        "codekin settings: 'completionBudgetMs' must be a whole number from 0 to 60000",
        "codekin settings: 'worker' must be an address such as remote://host:7878",
    ]
    assert any("'duplicateThreshold'" in problem for problem in problems)
    assert problems[-2:] == [
        "codekin settings: feature 'diagnostics' must be true or false",
        "codekin settings: unknown feature 'nope' ignored",
    ]


def test_not_an_object() -> None:
    assert parse_options(None, "s") == (ServerOptions(), [])
    options, problems = parse_options(["model"], "s")
    assert options == ServerOptions() and problems == ["s: expected an object of settings, got list"]
    options, problems = parse_options({"features": 3}, "s")
    assert options.features == Features() and problems == [
        "s: 'features' must be an object such as {\"diagnostics\": true}"
    ]


def test_a_nested_codekin_section_and_integers_for_floats() -> None:
    options, problems = parse_options({"codekin": {"hoverThreshold": 1}}, "s")
    assert problems == [] and options.hover_threshold == 1.0


def test_snake_case() -> None:
    assert [snake(k) for k in ("duplicateThreshold", "max-file-bytes", "dim")] == [
        "duplicate_threshold",
        "max_file_bytes",
        "dim",
    ]


def test_the_clients_own_keys_are_taken_silently() -> None:
    """VS Code sends the whole ``codekin`` section, its client-only keys with it."""
    options, problems = parse_options(
        {"server": {"command": ["codekin", "serve"]}, "trace": {"server": "verbose"}, "maxResults": 3}, "src"
    )
    assert problems == [] and options.max_results == 3
    _, problems = parse_options({"serverCommand": "x"}, "src")
    assert problems == ["src: unknown setting 'serverCommand' ignored"]
