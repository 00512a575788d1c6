"""Notifications: templates, rendering, outbox delivery, channels and printed documents.

Imports `states` and `storage`, never `workflow` (the engine writes the outbox rows; this package
renders and delivers them). Public API:

* ``notifications.render.render(template, channel, context) -> Rendered`` and
  ``notifications.context.build_context(policy, CaseFacts, OutboxEntry)``;
* ``notifications.outbox.deliver(db, now, *, transports=None, limit=None, ...) -> DeliveryReport``
  (the scheduler's delivery job and `zcflow deliver`), ``render_notification(db, id)``;
* ``notifications.config.transports_from_env()`` — which channel delivers sms / email / inapp;
* ``notifications.channels.base.Channel`` and one module per kind (file, memory, inapp, smtp, sms_http);
* ``notifications.documents`` — 公示表, 登记表, 花名册, checklists; ``to_bytes(doc, "html"|"pdf"|"csv"|"xlsx")``.
"""
