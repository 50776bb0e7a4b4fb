"""Attachment blocking by content: the detector's type names, the two classes, Rspamd's values.

Rspamd's prefilter (stack/templates/rspamd/local.d/rspamd.lua) names each MIME part's
type from its bytes with Rspamd's own `lua_magic` (Rspamd 3.4: lualib/lua_magic/types.lua),
plus three checks of its own for what lua_magic does not recognise: Mach-O binaries,
`#!` scripts and RAR archives. Neither the file name nor the declared Content-Type is
read. `template_values` turns the stored settings (Admin → Server → Attachments) into the
one value the prefilter reads: which type names it rejects, and the class each belongs to.
"""
from __future__ import annotations

from .layout import Layout

# Programs: Windows PE (exe, also DLLs), ELF, Mach-O, Windows Installer, shebang and
# batch scripts, Windows shortcuts (they run a command line).
EXECUTABLES = ("exe", "elf", "macho", "msi", "script", "bat", "lnk")
# Archives and compressed files. Office Open XML, OpenDocument, Java and Android packages,
# EPUB and signature containers are zip files and count here too: a .docx can carry
# anything a zip can.
ARCHIVES = ("zip", "rar", "7z", "tar", "gz", "bz2", "xz", "cab", "iso",
            "arj", "ace", "lz4", "zst", "dmg", "zoo", "egg", "alz", "xar", "szdd",
            "docx", "xlsx", "pptx", "odt", "ods", "odp", "epub", "jar", "apk", "asice", "asics")
ZIP_BASED = ("docx", "xlsx", "pptx", "odt", "ods", "odp", "epub", "jar", "apk", "asice", "asics")
# Every other name lua_magic reports: documents, images, text.
OTHERS = ("pdf", "rtf", "ps", "chm", "djvu", "class", "ole", "doc", "xls", "ppt", "vsd", "msg",
          "pgp", "uue", "psd", "pcx", "pic", "tiff", "ico", "swf", "png", "gif", "jpg", "bmp",
          "dwg", "xml", "txt", "html", "csv", "ics", "vcf", "eml")
DETECTORS = EXECUTABLES + ARCHIVES + OTHERS
EXECUTABLE, ARCHIVE = "executable", "archive"


def blocked(executables: bool, archives: bool, types: list[str]) -> dict[str, str]:
    """Each rejected type name and the class the refusal names, e.g. {'elf': 'executable',
    'pdf': 'pdf'}; a name in a class that is on is named by its class."""
    classes = {name: name for name in types}
    if archives:
        classes.update(dict.fromkeys(ARCHIVES, ARCHIVE))
    if executables:
        classes.update(dict.fromkeys(EXECUTABLES, EXECUTABLE))
    return classes


def rule_text(classes: dict[str, str]) -> str:
    """The prefilter's one value: 'elf=executable,pdf=pdf' ('' blocks nothing)."""
    unknown = sorted(set(classes) - set(DETECTORS))
    if unknown:
        raise ValueError(f"not detector names: {', '.join(unknown)}")
    return ",".join(f"{name}={label}" for name, label in sorted(classes.items()))


def template_values(cfg: dict, layout: Layout) -> dict:
    """The stored attachment settings as the prefilter's value `blocked_attachments`."""
    from core.db import transaction_at
    from core.models.server import server_settings

    with transaction_at(layout.url) as session:
        stored = server_settings(session, int(cfg["MESSAGE_SIZE_LIMIT_MB"]))
        classes = blocked(stored.block_executables, stored.block_archives, stored.types())
    return {"blocked_attachments": rule_text(classes)}
