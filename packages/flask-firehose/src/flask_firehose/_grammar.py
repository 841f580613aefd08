"""The HTTP grammar Flask-Firehose depends on, as named regular expressions.

Every pattern quotes the ABNF it implements and the section it comes from, so a
reader can check one against the other. Nothing else in the package builds a
header by hand: :mod:`flask_firehose._links` serializes through :func:`quote`.
"""

from __future__ import annotations

import re

__all__ = [
    "AUTHORITY",
    "BAD_PERCENT",
    "COOKIE_AV_TEXT",
    "DOMAIN",
    "FIELD_VALUE",
    "FRAGMENT_ENCODABLE",
    "LINK_PARAM",
    "LINK_VALUE",
    "LIST_DELIMITER",
    "ORIGIN",
    "OWS",
    "PATH_ENCODABLE",
    "PCT_ENCODED",
    "PLAIN_PATH_PREFIX",
    "QUOTED_PAIR",
    "QUOTED_STRING",
    "QVALUE",
    "REG_REL_TYPE",
    "SCHEME",
    "TEXT",
    "TOKEN",
    "UNRESERVED",
    "URI_ENCODABLE",
    "URI_FORBIDDEN",
    "URI_PARTS",
    "URI_REFERENCE",
    "URI_REFERENCE_CHARS",
    "quote",
]

# RFC 9110 §5.6.3 Whitespace
#   OWS = *( SP / HTAB )
#   BWS = OWS
OWS = re.compile(r"[ \t]*")

# RFC 9110 §5.6.1.2 Recipient Requirements (the list delimiter, with its whitespace)
#   #element => [ element ] *( OWS "," OWS [ element ] )
LIST_DELIMITER = re.compile(r"[ \t]*,[ \t]*")

# RFC 9110 §5.6.2 Tokens
#   token = 1*tchar
#   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
#           "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# RFC 9110 §5.6.4 Quoted Strings
#   quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
#   qdtext        = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
#   quoted-pair   = "\" ( HTAB / SP / VCHAR / obs-text )
# obs-text (%x80-FF) is deliberately left out: we only ever emit ASCII.
QUOTED_STRING = re.compile(r'"(?:[\t !#-\[\]-~]|\\[\t -~])*"')

#   quoted-pair   = "\" ( HTAB / SP / VCHAR / obs-text )
QUOTED_PAIR = re.compile(r"\\([\t -~])")

# What may stand inside a quoted-string once escaped, and what an attribute
# value may hold: HTAB, SP and VCHAR (RFC 5234 B.1: VCHAR = %x21-7E).
TEXT = re.compile(r"[\t -~]*")

# RFC 9110 §5.5 Field Values (obs-text left out: we only ever emit ASCII)
#   field-value   = *field-content
#   field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
#   field-vchar   = VCHAR / obs-text
FIELD_VALUE = re.compile(r"(?:[!-~](?:[\t !-~]*[!-~])?)?")

# RFC 9110 §12.4.2 Quality Values
#   weight = OWS ";" OWS "q=" qvalue
#   qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")

# RFC 3986 §2.1 Percent-Encoding
#   pct-encoded = "%" HEXDIG HEXDIG
PCT_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")
# RFC 3986 §2.3 Unreserved Characters (percent-encoding them changes nothing, §6.2.2.2)
#   unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]")
# A "%" that does not start a pct-encoded triplet.
BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")

# RFC 3986 §3.1 Scheme
#   scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
# (matched with its ":" at the start of a URI-reference)
SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")

# Characters RFC 3986 §2 does not allow anywhere in a URI (controls, space,
# DEL, and "<", ">", '"', "\") and that no URL a template writes holds by
# intent: refusing them is what keeps a value from closing "<...>" or the
# header line.
URI_FORBIDDEN = re.compile(r'[\x00-\x20\x7f<>"\\]')
# Also outside RFC 3986, but harmless once percent-encoded as browsers do
# (URL Standard, path percent-encode set): non-ASCII and "{", "}", "|", "^", "`".
URI_ENCODABLE = re.compile(r"[^\x00-\x7f]|[{}|^`]")

# What a path or query cannot hold as written once URI_FORBIDDEN is refused:
# URI_ENCODABLE, and "[" "]" (gen-delims kept for IP literals, RFC 3986 §3.2.2;
# pchar does not include them). A fragment cannot hold a "#" either (§3.5:
# fragment = *( pchar / "/" / "?" )).
PATH_ENCODABLE = re.compile(URI_ENCODABLE.pattern + r"|[\[\]]")
FRAGMENT_ENCODABLE = re.compile(URI_ENCODABLE.pattern + r"|[\[\]#]")

# RFC 3986 §2.2, §2.3 and §4.1: a URI-reference is made only of
#   unreserved  = ALPHA / DIGIT / "-" / "." / "_" / "~"
#   gen-delims  = ":" / "/" / "?" / "#" / "[" / "]" / "@"
#   sub-delims  = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="
#   pct-encoded
URI_REFERENCE_CHARS = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")

# RFC 3986 §4.1 URI Reference, whole (Appendix A), for what goes between "<" and ">":
#   URI-reference = URI / relative-ref
#   URI           = scheme ":" hier-part [ "?" query ] [ "#" fragment ]
#   hier-part     = "//" authority path-abempty / path-absolute / path-rootless / path-empty
#   relative-ref  = relative-part [ "?" query ] [ "#" fragment ]
#   relative-part = "//" authority path-abempty / path-absolute / path-noscheme / path-empty
#   authority     = [ userinfo "@" ] host [ ":" port ]
#   userinfo      = *( unreserved / pct-encoded / sub-delims / ":" )
#   host          = IP-literal / IPv4address / reg-name
#   IP-literal    = "[" ( IPv6address / IPvFuture  ) "]"
#   IPvFuture     = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
#   reg-name      = *( unreserved / pct-encoded / sub-delims )   (IPv4address is one too)
#   port          = *DIGIT
#   path-abempty  = *( "/" segment )
#   path-absolute = "/" [ segment-nz *( "/" segment ) ]
#   path-noscheme = segment-nz-nc *( "/" segment )
#   path-rootless = segment-nz *( "/" segment )
#   segment       = *pchar
#   segment-nz-nc = 1*( unreserved / pct-encoded / sub-delims / "@" )   ; no ":"
#   pchar         = unreserved / pct-encoded / sub-delims / ":" / "@"
#   query         = *( pchar / "/" / "?" )
#   fragment      = *( pchar / "/" / "?" )
_PCT = r"%[0-9A-Fa-f]{2}"
_SUB_DELIMS = r"!$&'()*+,;="
_PCHAR = rf"(?:[A-Za-z0-9\-._~{_SUB_DELIMS}:@]|{_PCT})"
_PCHAR_NC = rf"(?:[A-Za-z0-9\-._~{_SUB_DELIMS}@]|{_PCT})"
_H16 = r"[0-9A-Fa-f]{1,4}"
_DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_LS32 = rf"(?:{_H16}:{_H16}|{_DEC_OCTET}(?:\.{_DEC_OCTET}){{3}})"
#   IPv6address =                            6( h16 ":" ) ls32
#               /                       "::" 5( h16 ":" ) ls32
#               / [               h16 ] "::" 4( h16 ":" ) ls32
#               / [ *1( h16 ":" ) h16 ] "::" 3( h16 ":" ) ls32
#               / [ *2( h16 ":" ) h16 ] "::" 2( h16 ":" ) ls32
#               / [ *3( h16 ":" ) h16 ] "::"    h16 ":"   ls32
#               / [ *4( h16 ":" ) h16 ] "::"              ls32
#               / [ *5( h16 ":" ) h16 ] "::"              h16
#               / [ *6( h16 ":" ) h16 ] "::"
_IPV6 = (
    "(?:"
    + "|".join(
        [rf"(?:{_H16}:){{6}}{_LS32}", rf"::(?:{_H16}:){{5}}{_LS32}"]
        + [
            rf"(?:(?:{_H16}:){{0,{n}}}{_H16})?::{tail}"
            for n, tail in (
                (0, rf"(?:{_H16}:){{4}}{_LS32}"),
                (1, rf"(?:{_H16}:){{3}}{_LS32}"),
                (2, rf"(?:{_H16}:){{2}}{_LS32}"),
                (3, rf"{_H16}:{_LS32}"),
                (4, _LS32),
                (5, _H16),
                (6, ""),
            )
        ]
    )
    + ")"
)
_IP_LITERAL = rf"\[(?:{_IPV6}|v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~{_SUB_DELIMS}:]+)\]"
_AUTHORITY = (
    rf"(?:(?:[A-Za-z0-9\-._~{_SUB_DELIMS}:]|{_PCT})*@)?"
    rf"(?:{_IP_LITERAL}|(?:[A-Za-z0-9\-._~{_SUB_DELIMS}]|{_PCT})*)"
    r"(?::[0-9]*)?"
)
_PATH_ABEMPTY = rf"(?:/{_PCHAR}*)*"
_PATH_ABSOLUTE = rf"/(?:{_PCHAR}+{_PATH_ABEMPTY})?"
_TAIL = rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
URI_REFERENCE = re.compile(
    # URI: scheme ":" ( "//" authority path-abempty / path-absolute / path-rootless / path-empty )
    rf"[A-Za-z][A-Za-z0-9+.\-]*:(?://{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_PCHAR}+{_PATH_ABEMPTY}|){_TAIL}"
    # relative-ref: the same with path-noscheme for path-rootless
    rf"|(?://{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_PCHAR_NC}+{_PATH_ABEMPTY}|){_TAIL}"
)
# RFC 3986 Appendix B: splitting any string into the five components, the way
# a URI-reference would be read ("^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?").
URI_PARTS = re.compile(
    r"(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?(?P<path>[^?#]*)"
    r"(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?",
    re.DOTALL,
)
#: The authority component alone (what follows "//" up to the path).
AUTHORITY = re.compile(_AUTHORITY)

# RFC 8288 §3.3 Relation Type
#   relation-type = reg-rel-type / ext-rel-type
#   reg-rel-type  = LOALPHA *( LOALPHA / DIGIT / "." / "-" )
#   ext-rel-type  = URI
REG_REL_TYPE = re.compile(r"[a-z][a-z0-9.\-]*")

# RFC 8288 §3 Link Serialisation in HTTP Headers
#   Link       = #link-value
#   link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
#   link-param = token BWS [ "=" BWS ( token / quoted-string ) ]
# OWS and BWS are *( SP / HTAB ) (RFC 9110 §5.6.3).
LINK_PARAM = re.compile(
    r"[ \t]*;[ \t]*(?P<name>" + TOKEN.pattern + r")[ \t]*"
    r"(?:=[ \t]*(?P<value>" + TOKEN.pattern + "|" + QUOTED_STRING.pattern + r"))?"
)
LINK_VALUE = re.compile(r"<(?P<target>" + URI_REFERENCE.pattern + r")>")


# RFC 6265 §4.1.1 Set-Cookie syntax (what an attribute value such as Path may hold)
#   path-value = <any CHAR except CTLs or ";">
COOKIE_AV_TEXT = re.compile(r"[!-:<-~]*")

# RFC 6265 §4.1.2.3 (a host name, optionally with the leading "." older servers send)
#   domain-av = "Domain=" domain-value ; RFC 1034 §3.5 subdomain
DOMAIN = re.compile(r"\.?[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?")

# RFC 6454 §6.2 ASCII serialisation of an origin, http(s) only:
#   scheme "://" host [ ":" port ]
ORIGIN = re.compile(r"https?://[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?(?::[0-9]{1,5})?")

# RFC 3986 §3.3 path-absolute made of unreserved characters only, no dot
# segment: fit for a Flask route and for an RFC 8941 sf-string without escapes.
PLAIN_PATH_PREFIX = re.compile(r"(?:/[A-Za-z0-9_~\-][A-Za-z0-9._~\-]*)+")


def quote(value: str) -> str:
    """Return *value* as a ``token`` when it is one, else as a ``quoted-string``.

    RFC 8288 §3 allows either form for a parameter value; the token form is
    shorter and what most parsers expect for ``as=style``. *value* must hold
    only HTAB, SP and visible ASCII (callers validate first); a ``ValueError``
    here means a caller skipped that step.
    """
    if TOKEN.fullmatch(value):
        return value
    if not TEXT.fullmatch(value):
        raise ValueError(f"cannot quote {value!r}: only visible ASCII, space and tab")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
