"""Every document prints: an A4 PDF whose pages, rendered to pixels (pypdfium2), carry ink where the
Chinese headings are — the font is embedded, so no installed font is needed — and whose text
extracts with the right content; public documents show masked ID numbers only."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass

import pypdfium2 as pdfium
import pytest
from PIL import Image
from sqlalchemy.engine import Engine

from notifications.documents import (
    Document,
    mail_in_instructions,
    notice_list,
    paper_checklist,
    registration_form,
    roster,
    to_bytes,
)
from states.idcard import mask
from tests.drive import walk
from workflow.engine import Workflow

A4 = (595.28, 841.89)  # points
HZ = "hz-recognition-2025h1"


@dataclass
class Page:
    width: float
    height: float
    text: str
    image: Image.Image


def pages(data: bytes) -> Iterator[Page]:
    assert data.startswith(b"%PDF-")
    pdf = pdfium.PdfDocument(data)
    try:
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            width, height = page.get_size()
            png = io.BytesIO()
            page.render(scale=1).to_pil().save(png, format="PNG")
            image = Image.open(io.BytesIO(png.getvalue())).convert("L")
            yield Page(width, height, textpage.get_text_range(), image)
            textpage.close()
            page.close()
    finally:
        pdf.close()


def ink(image: Image.Image, top: float = 0.0, bottom: float = 1.0) -> float:
    """The share of dark pixels in a horizontal band of the page."""
    band = image.crop((0, int(image.height * top), image.width, int(image.height * bottom)))
    histogram = band.histogram()
    return sum(histogram[:128]) / (band.width * band.height)


def check_printed(data: bytes, *, landscape: bool, must_read: list[str], never: list[str]) -> list[Page]:
    found = list(pages(data))
    assert found
    for page in found:
        expected = (A4[1], A4[0]) if landscape else A4
        assert (round(page.width, 1), round(page.height, 1)) == (round(expected[0], 1), round(expected[1], 1))
        assert ink(page.image) > 0.002, "a blank page"
        for number in never:
            assert number not in page.text
    assert ink(found[0].image, 0.0, 0.12) > 0.002, "the Chinese heading did not print"
    text = "".join(p.text for p in found).replace("\r", "").replace("\n", "")
    for wanted in must_read:
        assert wanted in text, wanted
    return found


def test_the_notice_list_prints_in_landscape_with_masked_ids(db: Engine) -> None:
    ids = [walk(db, HZ, until="employer_notice", serial=s)[1] for s in (1, 2)]
    numbers = [Workflow(db).case(i).id_number for i in ids]
    with db.connect() as conn:
        doc = notice_list(conn, HZ, "employer_notice", today=dt.date(2025, 3, 21))
    printed = check_printed(to_bytes(doc, "pdf"), landscape=True, never=numbers,
                            must_read=["单位公示表", "王伟", "杭州示范机电有限公司", "机电制造", "工程师（制造业）",
                                       "2025年3月21日至2025年3月27日", "85257157", *map(mask, numbers)])
    assert "第1页 共1页" in printed[0].text


def test_the_registration_form_prints_on_one_portrait_page(db: Engine) -> None:
    wf, case_id, _ = walk(db, HZ, until="management_review")
    with db.connect() as conn:
        doc = registration_form(conn, case_id)
    printed = check_printed(to_bytes(doc, "pdf"), landscape=False, never=[],
                            must_read=["杭州市国际职业资格比照认定职称资格登记表", "证件号码",
                                       wf.case(case_id).id_number, "单位意见",
                                       "该同志具备机电制造工程师专业技术资格", "（公章）"])
    assert len(printed) == 1


def test_a_long_roster_runs_over_pages_with_the_heading_repeated(db: Engine) -> None:
    numbers = []
    for serial in range(1, 41):
        wf, case_id, _ = walk(db, HZ, until="employer_review", serial=serial)
        numbers.append(wf.case(case_id).id_number)
    with db.connect() as conn:
        doc = roster(conn, HZ, today=dt.date(2025, 4, 1))
    printed = check_printed(to_bytes(doc, "pdf"), landscape=True, never=numbers,
                            must_read=["申报评审工程师资格人员花名册", "共40人", mask(numbers[-1])])
    assert len(printed) >= 2
    assert all("证件号码" in p.text for p in printed)  # the table heading repeats on every page
    assert f"第2页 共{len(printed)}页" in printed[1].text


@pytest.mark.parametrize(("make", "wanted"), [
    (lambda: paper_checklist(HZ), ["纸质材料受理部门和报送清单", "上城区望潮路77号东楼1706室", "89601912",
                                   "《送评报告单》（委托书）一份"]),
    (lambda: paper_checklist("yh-recognition-2024"), ["纸质材料报送清单", "余杭区凤新路366号瑞鸿大厦1608办公室"]),
    (lambda: mail_in_instructions("lp-assessment-2022"), ["邮寄纸质材料清单", "EMS", "86106880", "李小军",
                                                          "只有评审通过人员才需邮寄"]),
])
def test_checklists_print(make: object, wanted: list[str]) -> None:
    assert callable(make)
    doc: Document = make()
    check_printed(to_bytes(doc, "pdf"), landscape=False, never=[], must_read=wanted)


def test_html_documents_are_complete_pages(db: Engine) -> None:
    wf, case_id, _ = walk(db, HZ, until="employer_notice")
    with db.connect() as conn:
        docs: list[Document] = [notice_list(conn, HZ, "employer_notice"), registration_form(conn, case_id),
                                roster(conn, HZ), paper_checklist(HZ), mail_in_instructions("lp-assessment-2022")]
    number = wf.case(case_id).id_number
    for doc in docs:
        html = to_bytes(doc, "html").decode("utf-8")
        assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html and html.endswith("</html>")
        if doc.kind in ("notice", "roster"):
            assert number not in html and mask(number) in html
