"""The warning sent to customers a breach reached: one fixed text, in Chinese and English.

It carries no personal data and no link (a link in a warning about scam links teaches the wrong
habit); it tells customers what the store never does, which is what the 2016 callers relied on.
"""

from __future__ import annotations

from typing import Final

TEMPLATE: Final = "anti_scam_v1"
REASON: Final = "breach_exposure"

MESSAGE_ZH: Final = (
    "安全提醒：您在本店的部分个人信息和订单信息可能已被他人获取。"
    "本店客服绝不会以“退款失败”“订单异常”“退货出错”为由给您打电话，"
    "也绝不会要求您点击链接、登录网页、提供银行卡号、身份证号或短信验证码。"
    "请勿向任何人透露短信验证码。如有疑问，请挂断电话，通过本店官方 App 或官方客服电话核实。"
)
MESSAGE_EN: Final = (
    "Security notice: some of your personal and order information with our store may have been obtained by "
    "others. The store will never call you about a failed refund, a problem with an order or a return, and will "
    "never ask you to click a link, log in on a web page, or give your bank card number, ID number or an SMS "
    "code. Never share SMS codes with anyone. If in doubt, hang up and check through the store's official app "
    "or official customer service number."
)
