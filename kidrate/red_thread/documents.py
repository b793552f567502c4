"""Documents that travel: the closure handover and the assignment as printable A4 PDF (WeasyPrint).

The PDF is rendered from the same template fragment as the HTML page (templates/handover/document.html
for the handover), in the reader's interface language, with a print stylesheet (static/css/print.css).
WeasyPrint is imported only when a PDF is made, so the app starts where its system libraries are
missing; `PdfUnavailable` then says so and the route answers 503.

Every PDF is made to be archived (the authority keeps its records): PDF/A-3u, with the document's
JSON (the same bytes as the JSON download) embedded as an associated file, its language and title
set, and tagged for screen readers: WeasyPrint writes PDF/A-3u with the structure tree and the
attachment in one pass; pikepdf then adds the PDF/UA-1 identification to the XMP metadata, with the
extension schema PDF/A asks for, and drops WeasyPrint's duplicate entry in the catalogue's /AF.

WeasyPrint never reaches the network: its URL fetcher serves files from the app's own static folder
and refuses every other address.
"""

from __future__ import annotations

import io
import json
import mimetypes
import re
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from flask import render_template
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from markupsafe import Markup

from kidrate.config import PROJECT_ROOT
from kidrate.models import utcnow
from kidrate.red_thread.chart import ChartText, rating_chart
from kidrate.vocab import ROUND_KINDS, ROUND_ORDER

STATIC_ROOT = (PROJECT_ROOT / "static").resolve()
PRINT_CSS = "css/print.css"
PDF_VARIANT = "pdf/a-3u"  # archival (ISO 19005-3, Unicode text), which allows the embedded JSON


class PdfUnavailable(RuntimeError):
    """WeasyPrint or the system libraries it needs (Pango) are not installed here."""


class RefusedURL(ValueError):
    """WeasyPrint asked for something other than a file in the app's own static folder."""


# --- The chart, in the reader's language ----------------------------------------------------------


def chart_text() -> ChartText:
    return ChartText(
        title=_("The child's ratings over time"),
        description=_("One line per problem in the child's words: the child's own rating from 1 (as hard as it "
                      "can be) to 10 (fine) at the start, at follow-up and at closure. A gap in a line means the "
                      "child did not rate that problem in that round."),
        rounds=tuple(str(ROUND_KINDS[kind]) for kind in ROUND_ORDER),
        not_answered=_("not answered"),
        scale=_("10 = fine, 1 = as hard as it can be"),
    )


def handover_chart(child_problems: list[dict], id_prefix: str = "rating-chart") -> Markup:
    """Jinja global: the handover document's child problems as an SVG chart (see kidrate/red_thread/chart.py)."""
    return rating_chart(child_problems, chart_text(), id_prefix=id_prefix)


# --- Only the app's own static files --------------------------------------------------------------


def static_file(url: str) -> Path:
    """The file in the app's static folder that a file: URL names; any other URL is refused."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise RefusedURL(f"not fetched: {parts.scheme or 'relative'} URL")
    path = Path(url2pathname(parts.path)).resolve()
    if not path.is_relative_to(STATIC_ROOT) or not path.is_file():
        raise RefusedURL("not fetched: outside the app's static folder")
    return path


def static_url_fetcher(url: str) -> dict:
    """A URL fetcher in WeasyPrint's dict form: a static file, or RefusedURL."""
    path = static_file(url)
    return {"string": path.read_bytes(), "mime_type": mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            "redirected_url": path.as_uri()}


def _url_fetcher(weasyprint: Any) -> Any:
    """static_url_fetcher in the form the installed WeasyPrint expects (a class since 68, a function before)."""
    urls = weasyprint.urls
    if not hasattr(urls, "URLFetcher") or not hasattr(urls, "URLFetcherResponse"):
        return static_url_fetcher

    class StaticOnly(urls.URLFetcher):
        def fetch(self, url, headers=None):
            found = static_url_fetcher(url)
            return urls.URLFetcherResponse(found["redirected_url"], found["string"],
                                           {"Content-Type": found["mime_type"]})

    return StaticOnly()


def _weasyprint() -> Any:
    try:
        import weasyprint
    except (ImportError, OSError) as error:  # OSError: the package is there, Pango is not
        raise PdfUnavailable(str(error)) from error
    return weasyprint


def _pikepdf() -> Any:
    try:
        import pikepdf
    except ImportError as error:
        raise PdfUnavailable(str(error)) from error
    return pikepdf


# --- The archival finish: PDF/UA identification in PDF/A's XMP ---------------------------------------

# PDF/UA-1 identified (ISO 14289-1, 5), and the pdfuaid schema described as a PDF/A extension schema:
# PDF/A allows only the XMP properties its predefined schemas or a described extension schema name.
PDFUA_XMP = b"""<rdf:Description rdf:about="" xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/">
<pdfuaid:part>1</pdfuaid:part></rdf:Description>
<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
 xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>
<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>
<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">
<pdfaProperty:name>part</pdfaProperty:name>
<pdfaProperty:valueType>Integer</pdfaProperty:valueType>
<pdfaProperty:category>internal</pdfaProperty:category>
<pdfaProperty:description>Indicates, which part of ISO 14289 standard is followed</pdfaProperty:description>
</rdf:li></rdf:Seq></pdfaSchema:property>
</rdf:li></rdf:Bag></pdfaExtension:schemas>
</rdf:Description>
"""


def _with_pdfua_identification(xmp: bytes) -> bytes:
    """WeasyPrint's XMP packet with the PDF/UA identification added inside its rdf:RDF; the rest as it was."""
    if b"http://www.aiim.org/pdfua/ns/id/" in xmp or xmp.count(b"</rdf:RDF>") != 1:
        return xmp
    return xmp.replace(b"</rdf:RDF>", PDFUA_XMP + b"</rdf:RDF>")


def archival_finish(pdf_bytes: bytes) -> bytes:
    """WeasyPrint's tagged PDF/A-3u, finished: PDF/UA-1 identified in its XMP, each associated file
    listed once in the catalogue's /AF (WeasyPrint 70 lists an attachment twice)."""
    pikepdf = _pikepdf()
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        root = pdf.Root
        if "/Metadata" in root:
            xmp = root.Metadata.read_bytes()
            root.Metadata.write(_with_pdfua_identification(xmp))  # unfiltered, as PDF/A likes it best
        if "/AF" in root:
            seen, unique = set(), pikepdf.Array()
            for spec in root.AF:
                key = spec.objgen if spec.is_indirect else id(spec)
                if key not in seen:
                    seen.add(key)
                    unique.append(spec)
            root.AF = unique
        out = io.BytesIO()
        pdf.save(out, fix_metadata_version=False)
    return out.getvalue()


# --- Rendering -----------------------------------------------------------------------------------


def document_json(document: dict) -> str:
    """A document as the JSON download gives it, and as the PDF embeds it: UTF-8, indented."""
    return json.dumps(document, ensure_ascii=False, indent=2)


def render_pdf(template: str, *, locale: str, generated_at: datetime | None = None,
               attached: tuple[str, dict] | None = None, **context: Any) -> bytes:
    """An archival A4 PDF of a print template, in `locale`, made without any request leaving the machine.

    `attached`: (file name, document), embedded as JSON, the PDF's source (PDF/A-3 associated file)."""
    weasyprint = _weasyprint()
    generated_at = generated_at or utcnow()
    with force_locale(locale):
        html = render_template(
            template, print_css=(STATIC_ROOT / PRINT_CSS).as_uri(),
            generated=format_datetime(generated_at, "short"), **context,
        )
        attachments = []
        if attached is not None:
            name, document = attached
            # A new Attachment for every PDF: WeasyPrint reads its source once, and a second PDF made
            # with the same one fails ('_GeneratorContextManager' object has no attribute 'args').
            attachments.append(weasyprint.Attachment(
                string=document_json(document).encode("utf-8"), name=name, relationship="Source",
                description=_("This document as data, in JSON (%(schema)s)", schema=document.get("schema", "")),
                created=generated_at, modified=generated_at))
    fetcher = _url_fetcher(weasyprint)
    # Tagged, with its title and language, so that a screen reader can read it (DOS-lagen).
    pdf = weasyprint.HTML(string=html, base_url=STATIC_ROOT.as_uri() + "/", url_fetcher=fetcher).write_pdf(
        pdf_variant=PDF_VARIANT, pdf_tags=True, attachments=attachments)
    return archival_finish(pdf)


def handover_pdf(document: dict, *, locale: str, generated_at: datetime | None = None, **context: Any) -> bytes:
    """The closure handover as a PDF: everything templates/handover/document.html shows, with a header
    (case reference, confidentiality) and a footer (version, generation time, page X of Y) on every page,
    and the document itself embedded as JSON. Extra context (the stored `handover`, the case's
    `signals`, say) reaches the template as it does on the HTML page."""
    name = download_name("handover", document["case"]["case_ref"], "json", document.get("version"))
    return render_pdf("handover/print.html", locale=locale, generated_at=generated_at, doc=document,
                      attached=(name, document), **context)


def assignment_pdf(document: dict, *, locale: str, generated_at: datetime | None = None, **context: Any) -> bytes:
    """The assignment (authority → open care) as a PDF, from compile_assignment's document, which it
    embeds as JSON."""
    name = download_name("assignment", document["case"]["case_ref"], "json")
    return render_pdf("handover/assignment_print.html", locale=locale, generated_at=generated_at,
                      doc=document, attached=(name, document), **context)


def download_name(kind: str, case_ref: str, extension: str, version: int | None = None) -> str:
    """A file name safe in any file system and header: kind, case reference (ASCII only), version."""
    ascii_ref = unicodedata.normalize("NFKD", case_ref).encode("ascii", "ignore").decode()
    ref = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_ref).strip(".-") or "case"
    suffix = f"-v{version}" if version is not None else ""
    return f"kidrate-{kind}-{ref}{suffix}.{extension}"
