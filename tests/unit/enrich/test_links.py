"""Links: the schemeless rule, trailing punctuation, kinds and ids."""

from __future__ import annotations

import pytest

from services.enrich.links import classify, extract_links
from shared.models import Link


def _one(text: str) -> Link:
    links = extract_links(text)
    assert len(links) == 1, links
    return links[0]


@pytest.mark.parametrize(
    "text",
    [
        "The service is written in node.js and deployed weekly.",
        "See README.md and setup.py for details.",
        "Run main.rs, then script.sh or app.ts.",
        "Version 3.8.0 was released, e.g. yesterday.",
    ],
)
def test_file_names_and_numbers_are_not_links(text: str) -> None:
    assert extract_links(text) == []


@pytest.mark.parametrize(
    ("text", "surface"),
    [
        ("(t.me/SerpomPo/2527).", "t.me/SerpomPo/2527"),
        (
            "Read https://meduza.io/news/2019/01/28/x, then decide.",
            "https://meduza.io/news/2019/01/28/x",
        ),
        ("Is it vk.com/durov?", "vk.com/durov"),
        ("He wrote “www.example.com/page”!", "www.example.com/page"),
        (
            "see https://en.wikipedia.org/wiki/Rust_(programming_language).",
            "https://en.wikipedia.org/wiki/Rust_(programming_language)",
        ),
    ],
)
def test_trailing_punctuation_is_never_part_of_a_link(text: str, surface: str) -> None:
    link = _one(text)
    assert link.text == surface
    assert text[link.start : link.end] == surface


def test_schemeless_links_get_https_and_a_host() -> None:
    link = _one("the site президент.рф says")
    assert link.url == "https://президент.рф"
    assert link.host == "президент.рф"
    www = _one("at www.Example.com/a?b=1 today")
    assert www.url == "https://www.Example.com/a?b=1"
    assert www.host == "example.com"
    assert www.kind == "web"


def test_explicit_scheme_is_kept() -> None:
    link = _one("at http://example.org/x")
    assert link.url == "http://example.org/x"


def test_emails() -> None:
    link = _one("Write to editor@windowoneurasia.org, please.")
    assert link.text == "editor@windowoneurasia.org"
    assert link.url == "mailto:editor@windowoneurasia.org"
    assert link.kind == "email"
    assert link.host == "windowoneurasia.org"


def test_handles_but_not_email_parts() -> None:
    links = extract_links("Follow @navalny and @SerpomPo_1; mail a@b.com.")
    handles = [link for link in links if link.kind == "handle"]
    assert [(h.text, h.details) for h in handles] == [
        ("@navalny", {"handle": "navalny"}),
        ("@SerpomPo_1", {"handle": "SerpomPo_1"}),
    ]
    assert handles[0].url == "@navalny" and handles[0].host is None
    assert [link.kind for link in links] == ["handle", "handle", "email"]


@pytest.mark.parametrize(
    ("url", "kind", "details"),
    [
        ("https://t.me/SerpomPo", "telegram_channel", {"channel": "SerpomPo"}),
        ("https://t.me/s/SerpomPo/2527", "telegram_post", {"channel": "SerpomPo", "post": "2527"}),
        ("https://t.me/joinchat/AAAA", "telegram_invite", {}),
        ("https://x.com/KremlinRussia_E", "x_profile", {"user": "KremlinRussia_E"}),
        ("https://twitter.com/navalny/status/1089", "x_post", {"user": "navalny", "post": "1089"}),
        ("https://mobile.twitter.com/navalny", "x_profile", {"user": "navalny"}),
        ("https://x.com/search?q=putin", "web", {}),
        ("https://vk.com/durov", "vk_profile", {"profile": "durov"}),
        (
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=1s",
            "youtube_video",
            {"video": "dQw4w9WgXcQ"},
        ),
        ("https://youtu.be/dQw4w9WgXcQ", "youtube_video", {"video": "dQw4w9WgXcQ"}),
        ("https://youtube.com/shorts/abc123", "youtube_video", {"video": "abc123"}),
        ("https://doi.org/10.1038/nphys1170", "doi", {"doi": "10.1038/nphys1170"}),
        ("https://example.com/a", "web", {}),
    ],
)
def test_classify(url: str, kind: str, details: dict[str, str]) -> None:
    assert classify(url) == (kind, details)


def test_schemeless_social_links_in_text() -> None:
    links = extract_links("Video youtu.be/dQw4w9WgXcQ, post x.com/user/status/42.")
    assert [(link.url, link.kind) for link in links] == [
        ("https://youtu.be/dQw4w9WgXcQ", "youtube_video"),
        ("https://x.com/user/status/42", "x_post"),
    ]


def test_bare_doi() -> None:
    link = _one("The study (doi:10.1000/xyz.123). showed it.")
    assert link.text == "doi:10.1000/xyz.123"
    assert link.url == "https://doi.org/10.1000/xyz.123"
    assert (link.kind, link.host, link.details) == ("doi", "doi.org", {"doi": "10.1000/xyz.123"})
    plain = _one("see 10.1093/ajae/aaq063, and more")
    assert plain.text == "10.1093/ajae/aaq063"


def test_doi_url_is_reported_once() -> None:
    assert len(extract_links("https://doi.org/10.1038/nphys1170")) == 1


def test_line_prefilter_finds_what_whole_text_linkify_finds() -> None:
    from services.enrich import links as module

    text = (
        "Intro line with no link at all.\n\n"
        "See t.me/SerpomPo/2527 and https://x.com/a/status/1.\n"
        "Mail bob@example.com or visit президент.рф today\n"
        "nothing here, e.g. U.S. policy\n"
        "//cdn.example.org/x.js and www.example.com"
    )
    whole = [(m.index, m.last_index) for m in module._LINKIFY.match(text) or []]
    assert len(whole) == 6
    assert [(m.index, m.last_index) for m in module._linkify(text)] == whole
