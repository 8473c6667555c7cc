"""cchc_excel.ooxml.gate: every returned file passes `inspect_file` before a parser touches it.

Each hostile file is built here: zips with xlsxwriter/zipfile, OLE2 compound files by hand (`make_ole`),
and real .ods/.xls/password-protected files with LibreOffice (marked `libreoffice`).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import shutil
import struct
import subprocess
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from cchc_excel.errors import UnreadableFile
from cchc_excel.ooxml.gate import OLE_MAGIC, Limits, inspect_file, sniff_format

# --- builders ---------------------------------------------------------------------------------------


def make_xlsx(path: Path) -> Path:
    """A small real workbook (shared strings, numbers, a formula) as units return it."""
    wb = xlsxwriter.Workbook(path)
    for n in range(1, 4):
        ws = wb.add_worksheet(f"Biểu mẫu {n}")
        ws.write_string(0, 0, "Chỉ tiêu")
        for r in range(1, 20):
            ws.write_string(r, 0, f"Số thủ tục hành chính {r}")
            ws.write_number(r, 1, r * 3)
        ws.write_formula(20, 1, "=SUM(B2:B20)", None, 570)
    wb.close()
    return path


def rezip(src: Path, dst: Path, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> Path:
    """Copy a zip, replacing or adding members."""
    replace, add = dict(replace or {}), dict(add or {})
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = replace.pop(info.filename) if info.filename in replace else zin.read(info)
            zout.writestr(info.filename, data)
        for name, data in {**replace, **add}.items():
            zout.writestr(name, data)
    return dst


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def patch_central(path: Path, member: str, offset: int, fmt: str, value: int) -> None:
    """Overwrite a field of a member's central-directory header (the sizes/flags readers trust)."""
    data = bytearray(path.read_bytes())
    pos = data.index(b"PK\x01\x02")
    while data[pos + 46:pos + 46 + struct.unpack_from("<H", data, pos + 28)[0]] != member.encode():
        pos = data.index(b"PK\x01\x02", pos + 4)
    struct.pack_into(fmt, data, pos + offset, value)
    path.write_bytes(bytes(data))


END, FREE, FATSECT, DIFSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFC


def make_ole(streams: dict[str, bytes], filler: int = 0) -> bytes:
    """A minimal valid OLE2 compound file (v3, 512-byte sectors) holding `streams`.

    Layout: FAT sectors, DIFAT sectors, `filler` unused sectors (to push the directory past the first
    109 FAT sectors, so that the DIFAT is needed), stream sectors, directory. Streams are padded to
    whole sectors and at least 4096 bytes, so that none belongs in the mini stream.
    """
    ss, per = 512, 128
    datas = [d.ljust(max(4096, -(-len(d) // ss) * ss), b"\0") for d in streams.values()]
    n_dir = -(-(len(streams) + 1) // 4)
    n_data = filler + sum(len(d) // ss for d in datas) + n_dir
    n_fat = n_difat = 0
    while True:  # the FAT must also map the FAT and DIFAT sectors themselves
        nf = -(-(n_fat + n_difat + n_data) // per)
        nd = -(-max(0, nf - 109) // (per - 1))
        if (nf, nd) == (n_fat, n_difat):
            break
        n_fat, n_difat = nf, nd
    fat = [FREE] * (n_fat * per)
    fat[:n_fat] = [FATSECT] * n_fat
    fat[n_fat:n_fat + n_difat] = [DIFSECT] * n_difat
    nxt = n_fat + n_difat + filler

    def chain(count: int) -> int:
        nonlocal nxt
        start = nxt
        for s in range(start, start + count):
            fat[s] = s + 1 if s < start + count - 1 else END
        nxt += count
        return start

    starts = [chain(len(d) // ss) for d in datas]
    dir_start = chain(n_dir)

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return struct.pack("<64sHBBIII16sIQQIQ", raw, len(raw), kind, 1, FREE, right, child, b"", 0, 0, 0,
                           start, size)

    entries = [entry("Root Entry", 5, 1 if streams else FREE, FREE, END, 0)]
    for i, (name, start, d) in enumerate(zip(streams, starts, datas), 1):
        entries.append(entry(name, 2, FREE, i + 1 if i < len(streams) else FREE, start, len(d)))
    directory = b"".join(entries).ljust(n_dir * ss, b"\0")
    fat_ids = list(range(n_fat))
    difat = b""
    for k in range(n_difat):
        ids = fat_ids[109 + k * (per - 1):109 + (k + 1) * (per - 1)]
        ids += [FREE] * (per - 1 - len(ids)) + [n_fat + k + 1 if k < n_difat - 1 else END]
        difat += struct.pack(f"<{per}I", *ids)
    head_difat = (fat_ids[:109] + [FREE] * 109)[:109]
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII109I", OLE_MAGIC, b"", 0x3E, 3, 0xFFFE, 9, 6, b"", 0, n_fat,
                         dir_start, 0, 4096, END, 0, n_fat if n_difat else END, n_difat, *head_difat)
    return (header + struct.pack(f"<{len(fat)}I", *fat) + difat + bytes(filler * ss) + b"".join(datas)
            + directory)


def biff(*records: tuple[int, bytes]) -> bytes:
    return b"".join(struct.pack("<HH", t, len(d)) + d for t, d in records)


BOF = (0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x0206))
FILEPASS = (0x002F, struct.pack("<HHH", 1, 1, 1) + bytes(48))  # RC4 header; contents are not looked at
EOF_REC = (0x000A, b"")


def refused(path: Path, *words: str, limits: Limits = Limits()) -> str:
    """inspect_file refuses `path` with a message naming it and containing `words`."""
    with pytest.raises(UnreadableFile) as exc:
        inspect_file(path, limits)
    msg = str(exc.value)
    assert path.name in msg, msg
    for w in words:
        assert w in msg, msg
    return msg


@pytest.fixture
def xlsx(tmp_path) -> Path:
    return make_xlsx(tmp_path / "Báo cáo quý 1 - Xã An Bình.xlsx")


# --- accepted files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm", ".xls", ""])
def test_valid_xlsx_whatever_its_name(xlsx, suffix):
    target = xlsx.with_name("bc" + suffix)
    shutil.copy(xlsx, target)
    assert inspect_file(target) == "xlsx"
    assert sniff_format(target) == "zip"


def test_crafted_ods_and_xls(tmp_path):
    ods = write_zip(tmp_path / "a.ods", {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                                         "content.xml": b'<?xml version="1.0"?><office:document-content/>'})
    assert inspect_file(ods) == "ods"
    xls = tmp_path / "a.xls"
    xls.write_bytes(make_ole({"Workbook": biff(BOF, EOF_REC)}))
    assert inspect_file(xls) == "xls"
    assert sniff_format(xls) == "ole"


def test_ole_with_difat_is_parsed(tmp_path):
    # Directory beyond the sectors the header's 109 FAT ids can map: the DIFAT chain must be followed.
    f = tmp_path / "lớn.xls"
    data = make_ole({"Workbook": biff(BOF, EOF_REC)}, filler=14000)
    n_difat, dir_start = struct.unpack_from("<I", data, 72)[0], struct.unpack_from("<I", data, 48)[0]
    assert n_difat == 1 and dir_start >= 109 * 128
    f.write_bytes(data)
    assert inspect_file(f) == "xls"


# --- not spreadsheets --------------------------------------------------------------------------------


NOT_BOOKS = [
    ("csv.xlsx", "Đơn vị,Số liệu\nXã An Bình,12\n".encode(), "có vẻ là tệp văn bản"),
    ("pdf.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "có vẻ là tệp PDF"),
    ("png.xlsx", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(20), "có vẻ là ảnh PNG"),
    ("jpeg.xlsx", b"\xff\xd8\xff\xe0\0\x10JFIF\0" + bytes(20), "có vẻ là ảnh JPEG"),
    ("html.xls", b"\xef\xbb\xbf<html><body><table><tr><td>1</td></tr></table></body></html>",
     "là trang web (HTML)"),
    ("x2003.xls", b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n<Workbook '
     b'xmlns="urn:schemas-microsoft-com:office:spreadsheet"></Workbook>', "là tệp Excel 2003 XML"),
    ("utf16.xls", "\ufeffĐơn vị\tSố liệu\r\n".encode("utf-16-le"), "có vẻ là tệp văn bản"),
]


@pytest.mark.parametrize("name,data,words", NOT_BOOKS, ids=[n for n, _, _ in NOT_BOOKS])
def test_not_a_spreadsheet(tmp_path, name, data, words):
    f = tmp_path / name
    f.write_bytes(data)
    msg = refused(f, words, "không phải sổ tính Excel/LibreOffice")
    if "HTML" in words or "2003" in words:
        assert "lưu lại dạng" in msg


def test_random_bytes(tmp_path):
    f = tmp_path / "ngẫu nhiên.xlsx"
    f.write_bytes(b"\x01\x02" + random.Random(7).randbytes(5000))
    msg = refused(f, "không phải sổ tính")
    assert "có vẻ là" not in msg


@pytest.mark.parametrize("members,words", [
    ({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}, "tài liệu Word (.docx)"),
    ({"ppt/presentation.xml": b"<p/>"}, "PowerPoint (.pptx)"),
    ({"xl/workbook.bin": b"\0\1"}, "sổ Excel nhị phân (.xlsb)"),
    ({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"}, "OpenDocument (.odt)"),
    ({"bao_cao.txt": b"xin chao"}, "tệp nén ZIP"),
], ids=["docx", "pptx", "xlsb", "odt", "zip"])
def test_zip_that_is_no_workbook(tmp_path, members, words):
    refused(write_zip(tmp_path / "tệp gửi lại.xlsx", members), words, "không phải sổ tính")


def test_ole_that_is_no_workbook(tmp_path):
    f = tmp_path / "công văn.xls"
    f.write_bytes(make_ole({"WordDocument": b"\xec\xa5", "1Table": b""}))
    refused(f, "tài liệu Word (.doc)", "không phải sổ tính")


def test_empty_and_missing(tmp_path):
    f = tmp_path / "rỗng.xlsx"
    f.touch()
    assert refused(f) == 'Tệp "rỗng.xlsx" rỗng (0 byte).'
    refused(tmp_path / "không có.xlsx", "Không tìm thấy tệp")


# --- corrupt -----------------------------------------------------------------------------------------


def test_truncated_xlsx(xlsx, tmp_path):
    cut = tmp_path / "cut.xlsx"
    data = xlsx.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    refused(cut, "bị hỏng hoặc không đầy đủ (có thể tải về chưa xong)")


def test_damaged_xml_member(xlsx, tmp_path):
    bad = tmp_path / "hỏng.xlsx"
    data = bytearray(xlsx.read_bytes())
    with zipfile.ZipFile(xlsx) as zf:
        info = zf.getinfo("xl/workbook.xml")
    nlen, xlen = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + nlen + xlen
    data[start + 10:start + 30] = b"\xff" * 20  # inflate error or bad CRC
    bad.write_bytes(bytes(data))
    refused(bad, "bị hỏng hoặc không đầy đủ")


@pytest.mark.parametrize("tail", [b"", bytes(100), random.Random(1).randbytes(3000)], ids=["header", "zeros", "random"])
def test_corrupt_ole(tmp_path, tail):
    f = tmp_path / "cũ.xls"
    f.write_bytes(make_ole({"Workbook": biff(BOF, EOF_REC)})[:512] + tail)
    refused(f, "bị hỏng hoặc không đầy đủ")


# --- password ----------------------------------------------------------------------------------------


def test_encrypted_ooxml(tmp_path):
    # What Excel writes for "Encrypt with password": an OLE file, whatever the extension.
    f = tmp_path / "mật khẩu.xlsx"
    f.write_bytes(make_ole({"\x06DataSpaces": b"", "EncryptionInfo": b"\x04\0\x04\0\x40\0\0\0<?xml?>",
                            "EncryptedPackage": random.Random(2).randbytes(6000)}))
    assert refused(f) == f'Tệp "{f.name}" được đặt mật khẩu mở tệp; hãy gỡ mật khẩu rồi gửi lại.'


def test_encrypted_xls(tmp_path):
    f = tmp_path / "mật khẩu.xls"
    f.write_bytes(make_ole({"Workbook": biff(BOF, FILEPASS, (0x00E1, b"\0\0"), EOF_REC)}))
    refused(f, "mật khẩu")


def test_encrypted_ods_and_zip(tmp_path, xlsx):
    ods = write_zip(tmp_path / "mk.ods", {
        "mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
        "META-INF/manifest.xml": b'<manifest:manifest><manifest:file-entry manifest:full-path="content.xml">'
                                 b"<manifest:encryption-data/></manifest:file-entry></manifest:manifest>",
        "content.xml": random.Random(3).randbytes(5000)})
    refused(ods, "mật khẩu")
    zipcrypto = tmp_path / "zip-mk.xlsx"
    shutil.copy(xlsx, zipcrypto)
    patch_central(zipcrypto, "xl/workbook.xml", 8, "<H", 1)  # general-purpose flag bit 0: encrypted
    refused(zipcrypto, "mật khẩu")


# --- too large, zip bombs ----------------------------------------------------------------------------


def test_file_too_large(xlsx):
    refused(xlsx, "bất thường", "quá lớn", "không đọc tệp này", limits=Limits(max_file_bytes=1000))


def test_zip_bomb_member(xlsx, tmp_path):
    # 300 MB of zeros, written in chunks: ~1.3 MB on disk at level 1, never in memory at once.
    bomb = tmp_path / "bom.xlsx"
    shutil.copy(xlsx, bomb)
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("xl/worksheets/sheet9.xml", "w", force_zip64=True) as w:
            chunk = bytes(2**20)
            for _ in range(300):
                w.write(chunk)
    refused(bomb, "bất thường", "xl/worksheets/sheet9.xml", "quá lớn")


def test_zip_bomb_ratio(xlsx, tmp_path):
    bomb = rezip(xlsx, tmp_path / "tỉ lệ.xlsx", add={"xl/media/image1.xml": bytes(5 * 2**20)})
    refused(bomb, "tỉ lệ nén bất thường", "bom zip")


def test_declared_size_far_beyond_limits(xlsx, tmp_path):
    lie = tmp_path / "khai gian.xlsx"
    shutil.copy(xlsx, lie)
    patch_central(lie, "xl/styles.xml", 24, "<I", 3 * 2**30)  # uncompressed size
    refused(lie, "bất thường", "xl/styles.xml", "quá lớn")


def test_total_uncompressed(xlsx, tmp_path):
    rnd = random.Random(4)
    big = rezip(xlsx, tmp_path / "tổng.xlsx", add={f"xl/media/p{i}.bin": rnd.randbytes(600_000) for i in range(2)})
    refused(big, "tổng dung lượng giải nén", limits=Limits(max_total_uncompressed=2**20))


def test_too_many_entries(tmp_path):
    members = {"xl/workbook.xml": b"<workbook/>"} | {f"xl/x{i}.txt": b"" for i in range(2000)}
    refused(write_zip(tmp_path / "nhiều.xlsx", members), "2001 thành phần nén", "quá nhiều")


# --- XML entity bombs --------------------------------------------------------------------------------

LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
          + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b']>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1">'
          b"<si><t>&lol9;</t></si></sst>")
XXE = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       b"<workbook><sheets><sheet name=\"&x;\"/></sheets></workbook>")


@pytest.mark.parametrize("member,xml", [
    ("xl/sharedStrings.xml", LAUGHS),
    ("xl/sharedStrings.xml", b'<?xml version="1.0"?>\n<!--' + b"x" * 5000 + b"-->" + LAUGHS[22:]),
    ("xl/sharedStrings.xml", LAUGHS.decode().replace('"1.0"?>', '"1.0" encoding="UTF-16"?>').encode("utf-16")),
    ("xl/workbook.xml", XXE),
    ("[Content_Types].xml", XXE),
], ids=["billion-laughs", "padded-prolog", "utf-16", "xxe-workbook", "content-types"])
def test_xml_with_dtd(xlsx, tmp_path, member, xml):
    bad = rezip(xlsx, tmp_path / "độc.xlsx", replace={member: xml})
    refused(bad, "bất thường", member, "DOCTYPE/ENTITY")


def test_ods_with_dtd(tmp_path):
    ods = write_zip(tmp_path / "độc.ods", {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                                           "content.xml": LAUGHS})
    refused(ods, "content.xml", "DOCTYPE/ENTITY")


@pytest.mark.parametrize("member,xml", [
    ("xl/sharedStrings.xml", b'\xef\xbb\xbf<?xml version="1.0"?>\r\n<!-- <!DOCTYPE x> in a comment -->\n'
                             b'<sst count="1"><si><t>&lt;!DOCTYPE</t></si></sst>' + b" " * 5000),
    ("xl/sharedStrings.xml", '<?xml version="1.0" encoding="UTF-16"?><sst count="0"/>'.encode("utf-16")),
    ("docProps/app.xml", b"this part is broken; the parser will say so"),
    ("xl/styles.xml", b""),
], ids=["comment-and-text", "utf-16", "not-xml", "empty"])
def test_harmless_xml_passes(xlsx, tmp_path, member, xml):
    assert inspect_file(rezip(xlsx, tmp_path / "ok.xlsx", replace={member: xml})) == "xlsx"


def test_overlong_prolog_refused(xlsx, tmp_path):
    # No DTD seen, but the root element does not start within the first 4 KB: refused all the same.
    xml = b'<?xml version="1.0"?>\n<!--' + b"x" * 5000 + b'--><sst count="0"/>'
    refused(rezip(xlsx, tmp_path / "dài.xlsx", replace={"xl/sharedStrings.xml": xml}), "xl/sharedStrings.xml")


# --- real files from LibreOffice ---------------------------------------------------------------------

UNO_SCRIPT = r'''
import sys, time, uno
from com.sun.star.beans import PropertyValue, NamedValue
def pv(name, value):
    p = PropertyValue(); p.Name = name; p.Value = value; return p
pipe, src, outdir = sys.argv[1:4]
local = uno.getComponentContext()
resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
for _ in range(300):
    try:
        ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext"); break
    except Exception:
        time.sleep(0.1)
desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0, (pv("Hidden", True),))
ooxml_pw = (NamedValue("CryptoType", "StrongEncryptionDataSpace"), NamedValue("OOXPassword", "mk123"))
for name, flt, extra in [
    ("plain.ods", "calc8", None), ("plain.xls", "MS Excel 97", None),
    ("enc.ods", "calc8", pv("Password", "mk123")),
    ("enc.xlsx", "Calc MS Excel 2007 XML", pv("EncryptionData", uno.Any("[]com.sun.star.beans.NamedValue", ooxml_pw))),
]:
    args = (pv("FilterName", flt), pv("Overwrite", True)) + ((extra,) if extra else ())
    uno.invoke(doc, "storeToURL", (uno.systemPathToFileUrl(f"{outdir}/{name}"), args))
doc.close(True)
print("saved", flush=True)
try:
    desktop.terminate()
except Exception:  # the connection drops as the office exits
    pass
import os
os._exit(0)  # pyuno may crash while the interpreter tears the dead bridge down: the files are saved
'''


def _save_with_libreoffice(src: Path, out: Path) -> subprocess.CompletedProcess:
    """One headless office, driven by UNO_SCRIPT, saves `src` in the four forms; its result."""
    profile, home = tempfile.mkdtemp(), tempfile.mkdtemp()
    pipe = f"cchc_safety_{uuid.uuid4().hex}"
    env = {**os.environ, "HOME": home}
    office = subprocess.Popen(["soffice", "--headless", "--invisible", "--norestore", "--nolockcheck",
                               f"-env:UserInstallation=file://{profile}", f"--accept=pipe,name={pipe};urp;"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # soffice is a script: soffice.bin runs as its child
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    try:
        return subprocess.run([python, str(out / "save.py"), pipe, str(src), str(out)], env=env,
                              capture_output=True, text=True, timeout=120)
    finally:
        try:
            office.wait(10)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(office.pid, signal.SIGKILL)  # whatever of the office is left, and only that
        office.wait(10)
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def lo_files(tmp_path_factory) -> Path:
    """One LibreOffice run saves the test workbook as .ods, .xls and password-protected .xlsx/.ods."""
    out = tmp_path_factory.mktemp("lo")
    src = make_xlsx(out / "src.xlsx")
    (out / "save.py").write_text(UNO_SCRIPT)
    # pyuno's client now and then dies of SIGSEGV while connecting on a loaded machine: one more try
    for _ in range(2):
        run = _save_with_libreoffice(src, out)
        if "saved" in run.stdout:
            break
    assert "saved" in run.stdout, (run.returncode, run.stderr)
    return out


@pytest.mark.libreoffice
def test_libreoffice_ods_and_xls(lo_files):
    assert inspect_file(lo_files / "plain.ods") == "ods"
    assert inspect_file(lo_files / "plain.xls") == "xls"


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", ["enc.xlsx", "enc.ods"])
def test_libreoffice_password_protected(lo_files, name):
    assert sniff_format(lo_files / name) == ("ole" if name.endswith("xlsx") else "zip")
    refused(lo_files / name, "được đặt mật khẩu mở tệp")
