"""What the customer pages say, in Simplified Chinese and English: the page texts, and the words
an access report's codes are read out in (roles, actions, fields, purposes, outcomes, channels).

Pure. Every word is rendered from a code, never from free text, so nothing a staff member typed and
no staff member's name or id can reach a customer's screen; an unknown code falls back to a
general phrase.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, NamedTuple


class Lang(StrEnum):
    """The pages' languages, spelled as notify and channels spell theirs."""

    ZH = "zh-CN"
    EN = "en"

    @classmethod
    def parse(cls, value: str | None) -> Lang | None:
        return next((lang for lang in cls if lang.value == value), None)


class Words(NamedTuple):
    zh: str
    en: str

    def say(self, lang: Lang) -> str:
        return self.zh if lang is Lang.ZH else self.en


# Who accessed: the role, as a customer understands it. Never a name or an id.
ROLES: Final = {
    "customer": Words("您本人", "you"),
    "cs_agent": Words("客服人员", "a customer-service agent"),
    "cs_supervisor": Words("客服主管", "a customer-service supervisor"),
    "security_analyst": Words("安全团队成员", "a member of the security team"),
    "admin": Words("系统管理员", "a system administrator"),
    "courier": Words("快递员", "a courier"),
    "merchant": Words("商家", "a merchant"),
    "partner": Words("合作伙伴", "a partner company"),
    "service": Words("商城的自动系统", "the store's automated systems"),
    "operator": Words("商城的运维人员（命令行）", "the store's operations staff (command line)"),
}
SOMEONE: Final = Words("商城工作人员", "store staff")

ACTIONS: Final = {
    "view": Words("查看了（部分隐藏的）", "viewed (partly hidden)"),
    "reveal": Words("查看了完整的", "saw in full"),
    "search": Words("按您的信息查找了您", "looked you up by"),
    "write": Words("保存或更新了", "saved or updated"),
    "erase": Words("删除了", "erased"),
    "export": Words("导出了", "exported"),
    "print": Words("打印了", "printed"),
    "call": Words("致电联系了您", "called you"),
    "login": Words("登录了您的账户", "logged in to your account"),
    "report": Words("查看了谁访问过您数据的记录", "looked at who accessed your data"),
    "ticket": Words("处理了与您相关的工单", "worked on a ticket about you"),
    "contact": Words("联系了您", "contacted you"),
    "contact_report": Words("提交了诈骗举报", "filed a scam report"),
    "notify": Words("向您发送了通知（读取了联系方式）", "sent you a notification (reading your contact details)"),
    "scope": Words("在数据泄露调查中核查了您的记录", "checked your record in a data-breach investigation"),
    "warn": Words("向您发出了防诈骗提醒", "sent you an anti-scam warning"),
    "prefs_view": Words("查看了您的通知设置", "looked at your notification settings"),
    "prefs_write": Words("修改了您的通知设置", "changed your notification settings"),
    "code_check": Words("核对防钓鱼码时读取了", "checked your anti-phishing code against"),
    "code_set": Words("设置了您的防钓鱼码", "set your anti-phishing code"),
    "code_clear": Words("删除了您的防钓鱼码", "removed your anti-phishing code"),
    "page_link": Words("为您打开了本页面的链接", "opened a link to these pages for you"),
}
ACCESSED: Final = Words("访问了", "accessed")

FIELDS: Final = {
    "name": Words("姓名", "name"),
    "mobile": Words("手机号", "mobile number"),
    "email": Words("电子邮箱", "e-mail address"),
    "id_number": Words("身份证号", "ID number"),
    "recipient": Words("收货人", "delivery recipient"),
    "phone": Words("收货电话", "delivery phone number"),
    "region": Words("省市区", "province, city and district"),
    "street": Words("详细地址", "street address"),
    "address": Words("地址", "address"),
    "items": Words("购买的商品", "items bought"),
    "returns": Words("退货信息", "returns"),
    "notification_preferences": Words("通知设置", "notification settings"),
    "anti_phishing_code": Words("防钓鱼码", "anti-phishing code"),
}
YOUR_DATA: Final = Words("您的资料", "your details")

PURPOSES: Final = {
    "refund_dispute": Words("处理退款争议", "to settle a refund dispute"),
    "delivery_problem": Words("解决配送问题", "to solve a delivery problem"),
    "identity_verification": Words("核实您的身份", "to confirm your identity"),
    "account_recovery": Words("帮您找回账户", "to help you recover your account"),
    "fraud_investigation": Words("调查欺诈", "to investigate fraud"),
    "legal_request": Words("依法律要求", "because the law required it"),
    "customer_request": Words("应您的要求", "because you asked"),
    "inbound_call": Words("您来电时确认身份", "to find you when you called"),
    "inbound_message": Words("您来信时确认身份", "to find you when you wrote in"),
}
NO_PURPOSE: Final = Words("日常业务（无需说明目的）", "day-to-day work (no purpose needed)")

OUTCOMES: Final = {
    "ok": Words("已完成", "done"),
    "denied": Words("被系统拒绝，未看到任何信息", "refused by the system; nothing was shown"),
    "not_found": Words("未找到", "not found"),
    "quota_exceeded": Words("超出每日限额，被拒绝", "refused: over the daily limit"),
    "no_match": Words("未找到匹配", "nothing matched"),
}

CHANNELS: Final = {
    "api": Words("商城系统", "the store's systems"),
    "cs-console": Words("客服后台", "the customer-service console"),
    "courier-app": Words("快递员应用", "the courier app"),
    "merchant-portal": Words("商家后台", "the merchant portal"),
    "partner-api": Words("合作伙伴接口", "a partner's system"),
    "export": Words("数据导出", "a data export"),
    "web": Words("网页", "the web"),
    "app": Words("商城 App", "the store's app"),
    "cli": Words("命令行", "the command line"),
}

NOTIFY_EVENTS: Final = {
    "login.new_device": Words("新设备登录", "Login from a new device"),
    "login.risky": Words("可疑登录", "Suspicious login"),
    "password.reset_required": Words("需要重设密码", "Password must be reset"),
    "contact.changed": Words("联系方式变更", "Contact details changed"),
    "order.return_requested": Words("申请退货", "Return requested"),
    "refund.issued": Words("退款已发放", "Refund issued"),
    "data.revealed": Words("工作人员查看了您的完整信息", "Staff saw your details in full"),
    "data.exported": Words("您的数据被导出", "Your data was exported"),
    "breach.warning": Words("数据泄露提醒", "Data-breach warning"),
    "scam.warning": Words("诈骗预警", "Scam warning"),
}
NOTIFY_CHANNELS: Final = {
    "sms": Words("短信", "SMS"),
    "email": Words("邮件", "E-mail"),
    "push": Words("App 推送", "App push"),
}

CONTACT_CHANNELS: Final = {
    "call": Words("电话", "Phone call"),
    "sms": Words("短信", "Text message"),
    "email": Words("邮件", "E-mail"),
}

LINK_VERDICTS: Final = {
    "official": Words("这是商城的官方链接", "This is the store's official link"),
    "lookalike": Words(
        "这是仿冒商城的链接，请勿打开或输入任何信息",
        "This link imitates the store: do not open it or type anything into it",
    ),
    "unknown": Words("这不是商城的链接", "This is not the store's link"),
    "malformed": Words("这不是一个有效的网址", "This is not a web link we can read"),
}
CONTACT_VERDICTS: Final = {
    "verified": Words("是的，这是商城联系的您", "Yes, this was the store"),
    "not_verified": Words("不是商城：很可能是诈骗", "This was not the store: most likely a scam"),
    "unknown": Words("无法确认", "We cannot tell"),
}

# The pages' own texts, by key.
TEXT: Final = {
    "site": Words("我的账户安全", "My account security"),
    "home": Words("首页", "Home"),
    "access": Words("谁访问过我的数据", "Who accessed my data"),
    "contact": Words("商城真的联系过我吗？", "Did the store really contact me?"),
    "links": Words("这个链接真的是商城的吗？", "Is this link really the store's?"),
    "notifications": Words("通知与防钓鱼码", "Notifications and anti-phishing code"),
    "done": Words("完成并退出", "Done, sign out"),
    "switch": Words("English", "中文"),
    "home_intro": Words(
        "这些页面只显示您本人的信息。商城工作人员的姓名永远不会出现在这里。",
        "These pages show only your own information. Store staff's names never appear here.",
    ),
    "access_intro": Words(
        "每一次对您个人信息的查看、查找和修改都记录在防篡改的日志中。这里按时间倒序列出：谁（岗位）、为什么、什么时候。",
        "Every view, search and change of your personal data is recorded in a tamper-evident log. "
        "Here it is, newest first: who (their role), why, and when.",
    ),
    "access_total": Words("共 {total} 条记录。", "{total} records in all."),
    "access_none": Words("还没有任何人访问过您的数据。", "Nobody has accessed your data yet."),
    "older": Words("更早的记录", "Older records"),
    "col_when": Words("时间", "When"),
    "col_who": Words("谁", "Who"),
    "col_what": Words("做了什么", "What"),
    "col_why": Words("为什么", "Why"),
    "col_result": Words("结果", "Result"),
    "via": Words("通过{channel}", "through {channel}"),
    "your_report_recorded": Words("您查看本记录也会被记录下来。", "Your looking at this list is recorded too."),
    "contact_intro": Words(
        "接到自称商城的电话、短信或邮件？告诉我们号码或发件人，我们会对照商城真实的联系记录。",
        "Got a call, text or e-mail that says it is the store? Tell us the number or sender and we check it "
        "against the contacts the store really made.",
    ),
    "contact_now": Words("商城现在正在联系您或刚刚联系过您：", "The store is contacting you now or just did:"),
    "contact_none_now": Words("商城此刻没有在联系您。", "The store is not contacting you right now."),
    "how": Words("联系方式", "How"),
    "from": Words("号码、短信发送方或邮箱", "Number, SMS sender or e-mail address"),
    "link_opt": Words("对方发来的链接（可选）", "A link they sent (optional)"),
    "account_opt": Words("对方让您付款的账户（可选）", "An account they asked you to pay (optional)"),
    "check": Words("核实", "Check"),
    "report_it": Words("一键举报诈骗", "Report this scam"),
    "report_hint": Words(
        "举报会连同您刚才核实的内容一起交给商城的安全团队。",
        "The report goes to the store's security team with what you just checked.",
    ),
    "knew_label": Words("对方知道您的哪些信息？", "What did they know about you?"),
    "loss_label": Words("损失金额（元，可选）", "Money lost (CNY, optional)"),
    "reported": Words("已收到您的举报，编号 {report_id}。谢谢！", "Your report {report_id} is in. Thank you!"),
    "contact_of": Words("联系记录：{role}，{reason}", "The contact: {role}, about {reason}"),
    "links_intro": Words(
        "把收到的链接粘贴到这里，我们会告诉您它是否属于商城。请不要先打开它。",
        "Paste a link you were sent and we tell you whether it is the store's. Do not open it first.",
    ),
    "link": Words("链接", "Link"),
    "imitates": Words("它在模仿：{domain}", "It imitates: {domain}"),
    "link_report_hint": Words(
        "想举报它？告诉我们是谁发来的：",
        "Want to report it? Tell us who sent it:",
    ),
    "prefs_intro": Words(
        "选择每类通知通过哪些渠道发给您。安全类通知至少保留一个渠道。",
        "Choose how you hear about each event. Security events keep at least one channel.",
    ),
    "event": Words("事件", "Event"),
    "security": Words("安全", "security"),
    "language": Words("通知语言", "Language of messages"),
    "timezone": Words("时区", "Time zone"),
    "save": Words("保存", "Save"),
    "saved": Words("已保存。", "Saved."),
    "code_title": Words("防钓鱼码", "Anti-phishing code"),
    "code_intro": Words(
        "商城发给您的每条官方消息都会带上您自己设置的防钓鱼码。没有这个码的消息不是商城发的。"
        "为了安全，设置后任何人（包括您本人和商城员工）都无法在页面上看到它：请自己记住。",
        "Every official message from the store carries the anti-phishing code you set. A message without it "
        "is not from the store. To keep it safe, nobody can see it on a page once it is set, not store staff "
        "and not you here: remember it yourself.",
    ),
    "code_is_set": Words("您已设置防钓鱼码。", "You have an anti-phishing code."),
    "code_not_set": Words("您还没有设置防钓鱼码。", "You have no anti-phishing code yet."),
    "code_new": Words(
        "新的防钓鱼码（4-12 个字母、数字或汉字）", "New code (4-12 letters, digits or Chinese characters)"
    ),
    "code_set_button": Words("设置", "Set code"),
    "code_clear_button": Words("删除防钓鱼码", "Remove my code"),
    "code_saved": Words("防钓鱼码已设置。", "Your code is set."),
    "code_cleared": Words("防钓鱼码已删除。", "Your code is removed."),
    "refused": Words("未完成", "Not done"),
    "ended_title": Words("请从商城 App 重新打开", "Please open this again from the store's app"),
    "ended": Words(
        "为保护您的账户，这个页面需要从商城 App 或网站打开，链接只能使用一次，几分钟后失效。",
        "To protect your account this page opens from the store's app or site; each link works once and "
        "only for a few minutes.",
    ),
    "signed_out": Words("您已退出。", "You are signed out."),
    "session_ends": Words("如无操作，本次访问将在 {at} 结束。", "This visit ends at {at} unless you use it."),
    "anti_scam": Words(
        "商城绝不会索要您的银行卡密码或短信验证码，也不会让您向“安全账户”转账。",
        "The store never asks for your card PIN or an SMS code, and never asks you to move money to a 'safe account'.",
    ),
}


def text(key: str, lang: Lang, **values: object) -> str:
    found = TEXT[key].say(lang)
    return found.format(**values) if values else found


# What a scam report says the scammer knew (the shared format's ``knew`` codes).
KNEW: Final = {
    "name": Words("姓名", "my name"),
    "mobile": Words("手机号", "my mobile number"),
    "address": Words("地址", "my address"),
    "order_id": Words("订单号", "the order number"),
    "items": Words("购买的商品", "what I bought"),
    "price": Words("价格", "the price"),
    "purchase_time": Words("购买时间", "when I bought it"),
    "return_request": Words("退货申请", "my return request"),
    "id_number": Words("身份证号", "my ID number"),
}
LANGUAGE_NAMES: Final = {Lang.ZH: "中文（简体）", Lang.EN: "English"}
