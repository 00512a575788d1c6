"""Printable A4 PDFs of the documents (notifications/documents.py), with fpdf2.

The Chinese font is embedded (subset), so a PDF prints the same on any machine, with or without
Chinese fonts installed: Noto Serif SC for text and Noto Sans SC for headings (SIL Open Font
License), from the `pylopdf-fonts-zh-cn` package on PyPI. ZCFLOW_PDF_FONT may name another
TrueType/OpenType font file to use for both.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Literal

from fpdf import FPDF, FontFace
from fpdf.enums import Align, TableCellFillMode, WrapMode, XPos, YPos

from notifications.document_model import Checklist, Document, NoticeList, RegistrationForm, Roster

BODY, HEAD = "zc-serif", "zc-sans"
LINE = 6.0  # mm per text line at 11 pt


class PdfFontError(RuntimeError):
    pass


@cache
def font_files() -> tuple[Path, Path]:
    """(body font, heading font)."""
    override = os.environ.get("ZCFLOW_PDF_FONT")
    if override:
        path = Path(override)
        if not path.is_file():
            raise PdfFontError(f"ZCFLOW_PDF_FONT: {override} is not a font file")
        return path, path
    import pylopdf_fonts_zh_cn as fonts

    return fonts.serif_path(), fonts.sans_path()


class _Pdf(FPDF):
    def __init__(self, orientation: Literal["portrait", "landscape"], footer: str, title: str) -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        body, head = font_files()
        self.add_font(BODY, "", str(body))
        self.add_font(HEAD, "", str(head))
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(True, margin=16)
        self.footer_text = footer
        self.set_title(title)
        self.set_author("zcflow")
        self.set_creator("zcflow")
        self.add_page()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(BODY, size=8)
        self.cell(0, 5, f"{self.footer_text}　第{self.page_no()}页 共{{nb}}页", align=Align.C)

    # ---- building blocks ---------------------------------------------------------------------
    def heading(self, text: str, size: float = 16) -> None:
        self.set_font(HEAD, size=size)
        self.multi_cell(0, size * 0.5, text, align=Align.C, wrapmode=WrapMode.CHAR,
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)

    def paragraph(self, text: str, size: float = 11, align: Align = Align.L) -> None:
        self.set_font(BODY, size=size)
        self.multi_cell(0, LINE * size / 11, text, align=align, wrapmode=WrapMode.CHAR,
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)

    def grid(self, headings: Sequence[str] | None, rows: Sequence[Sequence[str]], widths: Sequence[float],
             size: float = 10) -> None:
        self.set_font(BODY, size=size)
        style = FontFace(family=HEAD, emphasis="", fill_color=(235, 235, 235))
        with self.table(col_widths=tuple(widths), width=self.epw, text_align="LEFT", wrapmode=WrapMode.CHAR,
                        line_height=size * 0.5, padding=1.2, headings_style=style,
                        first_row_as_headings=headings is not None,
                        cell_fill_mode=TableCellFillMode.NONE) as table:
            if headings is not None:
                head = table.row()
                for text in headings:
                    head.cell(text)
            for values in rows:
                row = table.row()
                for text in values:
                    row.cell(text)
        self.ln(3)


def _notice(doc: NoticeList) -> bytes:
    pdf = _Pdf("landscape", f"{doc.policy_name}{doc.title}", f"{doc.policy_name}{doc.title}")
    pdf.heading(doc.policy_name)
    pdf.heading(doc.title, 14)
    period = f"（{doc.period}）" if doc.period else ""
    pdf.paragraph(f"根据有关规定，现将下列人员情况予以公示，公示期为{doc.working_days}个工作日{period}，"
                  f"由{doc.runs}组织公示。")
    headings = ["序号", "姓名", "性别", "证件号码", "工作单位", "从事专业", "申报职称"]
    widths = [10, 18, 10, 36, 60, 30, 36]
    if not doc.period:
        headings.append("公示期")
        widths.append(46)
    rows = [[str(r.no), r.name, r.gender, r.id_masked, r.employer, r.specialty, r.title]
            + ([] if doc.period else [r.period]) for r in doc.rows]
    if not rows:
        rows = [["—"] + ["（无公示对象）"] + ["—"] * (len(headings) - 2)]
    pdf.grid(headings, rows, widths)
    pdf.paragraph(doc.objection)
    pdf.paragraph(doc.runs + (f"\n{doc.dated}" if doc.dated else ""), align=Align.R)
    pdf.paragraph(f"依据：{doc.source}（公示期不少于{doc.working_days}个工作日）；证件号码已部分隐藏。", size=8)
    return bytes(pdf.output())


def _form(doc: RegistrationForm) -> bytes:
    pdf = _Pdf("portrait", doc.title, doc.title)
    pdf.heading(doc.title, 15)
    pdf.set_font(BODY, size=10.5)
    stamp = "\n\n（公章）　　　　年　　月　　日"
    with pdf.table(col_widths=(30, 42, 30, 42, 30), width=pdf.epw, text_align="LEFT", wrapmode=WrapMode.CHAR,
                   line_height=6, padding=2, first_row_as_headings=False) as table:
        row = table.row()
        row.cell("姓名", align="CENTER")
        row.cell(doc.name)
        row.cell("性别", align="CENTER")
        row.cell(doc.gender)
        row.cell("照片", align="CENTER", rowspan=4)
        row = table.row()
        row.cell("证件类别", align="CENTER")
        row.cell(doc.id_type)
        row.cell("证件号码", align="CENTER")
        row.cell(doc.id_number)
        row = table.row()
        row.cell("工作单位及职务", align="CENTER")
        row.cell(doc.employer_and_post, colspan=3)
        row = table.row()
        row.cell("参加工作时间", align="CENTER")
        row.cell(doc.work_start)
        row.cell("现从事专业及工作年限", align="CENTER")
        row.cell(doc.specialty_and_years)
        row = table.row()
        row.cell("学历", align="CENTER")
        row.cell(doc.education)
        row.cell("毕业院校及时间", align="CENTER")
        row.cell(doc.school_and_date, colspan=2)
        row = table.row()
        row.cell("职业资格名称及颁发单位", align="CENTER")
        row.cell(doc.qualification, colspan=2)
        row.cell("取得时间", align="CENTER")
        row.cell(doc.obtained)
        row = table.row()
        row.cell("对应职称及所属系列", align="CENTER")
        row.cell(doc.title_and_series, colspan=4)
        row = table.row()
        row.cell("单位意见", align="CENTER")
        row.cell(doc.unit_opinion + "\n" + stamp, colspan=4)
        row = table.row()
        row.cell(f"{doc.committee}意见", align="CENTER")
        row.cell(doc.committee_opinion + "\n" + stamp, colspan=4)
    pdf.ln(3)
    pdf.paragraph(f"依据：{doc.source}；申报编号{doc.case_id}。一式两份。", size=8)
    return bytes(pdf.output())


def _roster(doc: Roster) -> bytes:
    title = f"{doc.policy_name}{doc.title}"
    pdf = _Pdf("landscape", title, title)
    pdf.heading(doc.policy_name)
    pdf.heading(doc.title + (f"（{doc.committee}）" if doc.committee else ""), 13)
    widths = (8, 14, 14, 8, 30, 16, 40, 18, 14, 14, 38, 22, 20)
    rows = [list(r) for r in doc.rows] or [["—", "（无申报人员）"] + ["—"] * (len(doc.columns) - 2)]
    pdf.grid(doc.columns, rows, widths, size=8)
    pdf.paragraph(f"共{len(doc.rows)}人" + (f"　{doc.dated}" if doc.dated else ""), align=Align.R)
    note = "" if doc.full_ids else "；证件号码已部分隐藏"
    pdf.paragraph(f"依据：{doc.source}{note}。", size=8)
    return bytes(pdf.output())


def _checklist(doc: Checklist) -> bytes:
    pdf = _Pdf("portrait", f"{doc.policy_name}{doc.title}", f"{doc.policy_name}{doc.title}")
    pdf.heading(doc.title)
    pdf.heading(doc.policy_name, 12)
    pdf.paragraph(doc.intro)
    heading = doc.items_heading
    if doc.offices:
        pdf.paragraph("一、纸质材料受理部门", size=12)
        pdf.grid(("单位", "电话", "地址"), [(o.name, o.phone or "—", o.address or "—") for o in doc.offices],
                 (58, 40, 76))
        if doc.offices_note:
            pdf.paragraph(doc.offices_note)
        heading = f"二、{heading}"
    pdf.paragraph(heading, size=12)
    for i, item in enumerate(doc.items, start=1):
        pdf.paragraph(f"{i}. {item}")
    for note in doc.notes:
        pdf.paragraph(note)
    if doc.send_to is not None:
        pdf.paragraph(("邮寄地址：" if doc.kind == "mail-in" else "报送至：") + doc.send_to.line)
    pdf.paragraph(doc.authority, align=Align.R)
    pdf.paragraph("依据：" + "；".join(doc.sources), size=8)
    return bytes(pdf.output())


def render_pdf(doc: Document) -> bytes:
    if isinstance(doc, NoticeList):
        return _notice(doc)
    if isinstance(doc, RegistrationForm):
        return _form(doc)
    if isinstance(doc, Roster):
        return _roster(doc)
    if isinstance(doc, Checklist):
        return _checklist(doc)
    raise TypeError(f"not a document: {type(doc).__name__}")
