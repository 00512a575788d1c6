"""The legal basis as a person reads it: a notice's title, its 文号 and the section.

Policy files cite their seed by file name and section (`Source(file, section)`), so that a developer
can open the text; a page, a message or a printed document shows the notice instead: its title and
文号, never the file name. The titles and numbers below are transcribed from the first lines of each
seed in ``shared/seeds/`` (two notices carry no 文号 in the text we have: 001 and 002).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class NoticeRef:
    title: str
    document: str | None  # 文号
    authority: str
    issued: str

    @property
    def cited(self) -> str:
        """《title》（文号）, as a citation reads."""
        return f"《{self.title}》" + (f"（{self.document}）" if self.document else "")


NOTICES: dict[str, NoticeRef] = {
    # 000 lines 3–7
    "000_d14dd92da83e9486.txt": NoticeRef(
        "杭州市余杭区人力资源和社会保障局关于做好2024年度杭州市余杭区制造业、建筑业领域部分国际职业资格比照认定职称工作的通知",
        "余人社发〔2024〕48号", "杭州市余杭区人力资源和社会保障局", "2024-03-08"),
    # 001 lines 1–9 (the text carries no 文号)
    "001_f62017e8010cdeb7.txt": NoticeRef(
        "关于做好2025上半年度杭州市制造业领域国际职业资格比照认定职称工作的通知",
        None, "杭州市经济和信息化局（杭州市数字经济局）", "2025-02-24"),
    # 002 line 3 (the text carries no 文号)
    "002_0ab6147c026b6031.txt": NoticeRef(
        "关于做好2022年度临平区制造业专业工程师资格评审工作的通知",
        None, "杭州市临平区制造业工程技术人员工程师资格评审委员会", "2022-07-20"),
    # 003 lines 1–9
    "003_fb1894bb5a019f3a.txt": NoticeRef(
        "杭州市人力资源和社会保障局关于印发杭州市国际职业资格认定职称认可目录的通知",
        "杭人社发〔2022〕123号", "杭州市人力资源和社会保障局", "2022-12-12"),
    # 004 lines 3–7
    "004_96ecde711b1cc98f.txt": NoticeRef(
        "关于印发《无锡市国际职业资格比照认定专业技术资格办法（试行）》的通知",
        "锡人社职〔2021〕49号", "无锡市人力资源和社会保障局", "2021-12-13"),
}

# A seed file name as policy files and older stored reasons write it.
SEED_FILE = re.compile(r"\b(\d{3}_[0-9a-f]{16}\.txt)\b")


def notice_of(file: str) -> NoticeRef | None:
    return NOTICES.get(file)


def cite(file: str, section: str | None = None) -> str:
    """《title》（文号）section for a seed file; a file we do not know (an operator's own policy
    file) reads as 政策文件 rather than its name."""
    ref = NOTICES.get(file)
    head = ref.cited if ref else "政策文件"
    section = (section or "").strip()
    if not section or section == "正文":
        return head
    return f"{head}{section}"


def cite_source(source: object, policy: object | None = None) -> str:
    """`cite` for any object with `file` and `section` (states.policy.Source). A policy an operator
    wrote (CONTRACT §9) cites its own notice by file: with `policy`, that file reads as the policy's
    notice, 《name》（document）, rather than 政策文件."""
    file = str(getattr(source, "file", ""))
    section = getattr(source, "section", None)
    own = getattr(getattr(policy, "source", None), "file", None)
    if file not in NOTICES and policy is not None and file == own:
        document = getattr(policy, "document", None)
        head = f"《{getattr(policy, 'name', '')}》" + (f"（{document}）" if document else "")
        section = (section or "").strip()
        return head if not section or section == "正文" else f"{head}{section}"
    return cite(file, section)


def without_file_names(text: str | None) -> str:
    """`text` with every seed file name replaced by its notice's citation (stored reasons written
    before the citations changed still name files)."""
    if not text:
        return ""
    return SEED_FILE.sub(lambda m: NOTICES[m[1]].cited if m[1] in NOTICES else "政策文件", text)
