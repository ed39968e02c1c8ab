"""URLs, e-mail addresses, @handles and DOIs, with the kind of thing each points to.

linkify-it-py finds URLs and e-mails and already leaves trailing punctuation out
("(t.me/SerpomPo/2527)." gives ``t.me/SerpomPo/2527``).

The schemeless rule
    A link written with a scheme (``https://...``) is always a link. A schemeless
    ("fuzzy") link counts only when its TLD is in ``FUZZY_TLDS``: the common generic TLDs
    and the country TLDs of the region this pipeline reads, minus those that double as
    file extensions (``.js``, ``.md``, ``.py``, ``.rs``, ``.sh``, ``.ts``...). So ``t.me``,
    ``vk.com``, ``youtu.be`` and ``президент.рф`` are links and ``node.js`` or ``README.md``
    in prose are not. Schemeless links get ``https://``.

Hosts are lower-cased with a leading ``www.`` removed. @handles get ``url`` = the handle
as written (``@name``): the platform is not known, so no profile URL is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from linkify_it import LinkifyIt

from shared.models import Link

# Generic TLDs, then country TLDs seen in the region's sources. Look-alikes of file
# extensions (js md py rs sh ts pl cc so ml) are deliberately absent.
_GENERIC_TLDS = (
    "com org net edu gov mil int info biz name pro mobi asia tel travel museum aero coop"
)
_NEW_TLDS = "app dev io ai co news online site blog media tech press"
_COUNTRY_TLDS = (
    "ru su рф ua by kz uz kg tj am az ge ee lv lt cz sk hu ro bg hr si ba mk al de at ch fr it "
    "es pt nl be lu uk ie dk no se fi is gr tr il ir cn jp kr tw hk in us ca mx br ar cl ve au "
    "nz za eu me tv fm ly"
)
FUZZY_TLDS: tuple[str, ...] = tuple(f"{_GENERIC_TLDS} {_NEW_TLDS} {_COUNTRY_TLDS}".split())

_LINKIFY = LinkifyIt(options={"fuzzy_link": True, "fuzzy_email": True, "fuzzy_ip": False})
_LINKIFY.tlds(list(FUZZY_TLDS), False)

# Where linkify-it could match at all: a scheme or "//", an "@", or a dot before a TLD we
# accept. linkify-it then runs on those lines only (a link never spans a line break), which
# keeps link finding well under a millisecond on a news article.
_CANDIDATE = re.compile(
    r"//|@|\.(?:" + "|".join(sorted(FUZZY_TLDS, key=len, reverse=True)) + r")(?![^\W_])",
    re.IGNORECASE,
)
_HANDLE = re.compile(r"(?<![\w@./:+-])@(?P<name>[A-Za-z0-9_]{2,32})\b(?![@.]\w)")
_DOI = re.compile(r"(?<![\w/.])(?:doi:\s*)?(?P<doi>10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)
_TRAILING = ".,;:!?'\"’”»]}…"

_TELEGRAM_HOSTS = frozenset({"t.me", "telegram.me", "telegram.dog"})
_X_HOSTS = frozenset({"twitter.com", "x.com", "mobile.twitter.com", "mobile.x.com"})
_X_RESERVED = frozenset(
    {"home", "search", "hashtag", "i", "intent", "share", "explore", "settings", "messages"}
    | {"notifications", "login", "signup", "tos", "privacy", "compose"}
)
_VK_HOSTS = frozenset({"vk.com", "m.vk.com", "vk.ru", "vkontakte.ru"})
_YOUTUBE_HOSTS = frozenset({"youtube.com", "m.youtube.com", "music.youtube.com"})
_DOI_HOSTS = frozenset({"doi.org", "dx.doi.org"})
_TELEGRAM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_DIGITS = re.compile(r"^\d+$")
_VK_WALL = re.compile(r"^wall(?P<owner>-?\d+)_(?P<post>\d+)$")


def _host(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if host is None:
        return None
    return host.removeprefix("www.")


def classify(url: str) -> tuple[str, dict[str, str]]:
    """The kind of a URL and the ids in it (channel, post, video...)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if host in _TELEGRAM_HOSTS:
        return _telegram(segments)
    if host in _X_HOSTS:
        if segments and segments[0].lower() not in _X_RESERVED:
            user = segments[0]
            is_status = len(segments) >= 3 and segments[1] in ("status", "statuses")
            if is_status and _DIGITS.match(segments[2]):
                return "x_post", {"user": user, "post": segments[2]}
            if len(segments) == 1:
                return "x_profile", {"user": user}
        return "web", {}
    if host in _VK_HOSTS and len(segments) == 1:
        if wall := _VK_WALL.match(segments[0]):
            return "vk_post", {"owner": wall["owner"], "post": wall["post"]}
        return "vk_profile", {"profile": segments[0]}
    if host in _YOUTUBE_HOSTS:
        if segments == ["watch"] and (video := parse_qs(parts.query).get("v")):
            return "youtube_video", {"video": video[0]}
        if len(segments) == 2 and segments[0] in ("shorts", "embed", "live", "v"):
            return "youtube_video", {"video": segments[1]}
        if len(segments) == 1 and segments[0].startswith("@"):
            return "youtube_channel", {"channel": segments[0][1:]}
        return "web", {}
    if host == "youtu.be" and len(segments) == 1:
        return "youtube_video", {"video": segments[0]}
    if host in _DOI_HOSTS and segments and segments[0].startswith("10."):
        return "doi", {"doi": "/".join(segments)}
    return ("web" if parts.scheme in ("http", "https") else parts.scheme or "web"), {}


def _telegram(segments: list[str]) -> tuple[str, dict[str, str]]:
    if segments and segments[0] == "s":  # t.me/s/<channel>: the web preview of a channel
        segments = segments[1:]
    if not segments:
        return "web", {}
    if segments[0] == "joinchat" or segments[0].startswith("+"):
        return "telegram_invite", {}
    if segments[0] == "c" and len(segments) >= 3 and _DIGITS.match(segments[2]):
        return "telegram_post", {"channel_id": segments[1], "post": segments[2]}
    if not _TELEGRAM_NAME.match(segments[0]):
        return "web", {}
    if len(segments) >= 2 and _DIGITS.match(segments[1]):
        return "telegram_post", {"channel": segments[0], "post": segments[1]}
    if len(segments) == 1:
        return "telegram_channel", {"channel": segments[0]}
    return "web", {}


def _strip_trailing(text: str) -> str:
    while text and (
        text[-1] in _TRAILING or (text[-1] == ")" and text.count("(") < text.count(")"))
    ):
        text = text[:-1]
    return text


@dataclass(frozen=True, slots=True)
class _Found:
    schema: str
    index: int
    last_index: int


def _linkify(text: str) -> list[_Found]:
    """linkify-it's matches in whole-text offsets, run only on lines that may hold a link."""
    found: list[_Found] = []
    line_end = -1
    for candidate in _CANDIDATE.finditer(text):
        if candidate.start() < line_end:
            continue
        line_start = text.rfind("\n", 0, candidate.start()) + 1
        line_end = text.find("\n", candidate.end())
        line_end = len(text) if line_end < 0 else line_end
        for match in _LINKIFY.match(text[line_start:line_end]) or []:
            found.append(
                _Found(match.schema, line_start + match.index, line_start + match.last_index)
            )
    return found


def extract_links(text: str) -> list[Link]:
    """Every link in the text, in order; a span is reported once."""
    links: list[Link] = []
    taken: list[tuple[int, int]] = []
    for match in _linkify(text):
        # linkify-it leaves some closing quotes (”, ’, ») on; they are never part of a link.
        surface = _strip_trailing(text[match.index : match.last_index])
        if not surface:
            continue
        end = match.index + len(surface)
        if match.schema == "mailto:" or (
            not match.schema and "@" in surface and "/" not in surface
        ):
            address = surface.removeprefix("mailto:")
            link = Link(
                text=surface,
                start=match.index,
                end=end,
                url=f"mailto:{address}",
                host=address.rpartition("@")[2].lower() or None,
                kind="email",
                details={"address": address},
            )
        else:
            if not match.schema or match.schema == "//":
                url = "https://" + surface.removeprefix("//")
            else:
                url = surface  # as written: the scheme is part of the text
            kind, details = classify(url)
            link = Link(
                text=surface,
                start=match.index,
                end=end,
                url=url,
                host=_host(url),
                kind=kind,
                details=details,
            )
        links.append(link)
        taken.append((link.start, link.end))

    def free(start: int, end: int) -> bool:
        return all(end <= s or e <= start for s, e in taken)

    for doi in _DOI.finditer(text):
        value = _strip_trailing(doi["doi"])
        start, end = doi.start(), doi.start("doi") + len(value)
        if free(start, end):
            links.append(
                Link(
                    text=text[start:end],
                    start=start,
                    end=end,
                    url=f"https://doi.org/{value}",
                    host="doi.org",
                    kind="doi",
                    details={"doi": value},
                )
            )
            taken.append((start, end))
    for handle in _HANDLE.finditer(text):
        if free(handle.start(), handle.end()):
            links.append(
                Link(
                    text=handle.group(),
                    start=handle.start(),
                    end=handle.end(),
                    url=handle.group(),
                    host=None,
                    kind="handle",
                    details={"handle": handle["name"]},
                )
            )
    links.sort(key=lambda link: link.start)
    return links
