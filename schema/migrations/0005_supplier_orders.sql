-- An OpenCart order's lines forwarded to one supplier: reserved here (state 'reserved') before
-- any call, with the idempotency key the supplier receives, so a crash mid-forward resends the
-- same key and never a second order. Unique on (order_id, supplier_id): one forward per pair.
-- States: reserved (claimed, not yet confirmed by the supplier) → sent → shipped; on_hold (the
-- supplier is out of stock of a line; the merchant was told on the order) and failed (rejected:
-- `last_error` says why) wait for the merchant. `lines` is the JSON of what was (to be) sent,
-- frozen at reservation so a resend carries the same content as the key's first send.
CREATE TABLE IF NOT EXISTS `{prefix}kervan_supplier_order` (
  `supplier_order_id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `order_id` INT UNSIGNED NOT NULL,
  `supplier_id` INT UNSIGNED NOT NULL,
  `idempotency_key` CHAR(36) NOT NULL,
  `state` VARCHAR(16) NOT NULL DEFAULT 'reserved',
  `remote_id` VARCHAR(128) NULL,
  `lines` MEDIUMTEXT NULL,
  `carrier` VARCHAR(64) NULL,
  `tracking_number` VARCHAR(128) NULL,
  `tracking_url` VARCHAR(512) NULL,
  `attempts` INT UNSIGNED NOT NULL DEFAULT 0,
  `last_error` TEXT NULL,
  `sent_at` TIMESTAMP(6) NULL,
  `tracking_checked_at` TIMESTAMP(6) NULL,
  `shipped_at` TIMESTAMP(6) NULL,
  `date_added` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `date_modified` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`supplier_order_id`),
  UNIQUE KEY `order_supplier` (`order_id`, `supplier_id`),
  UNIQUE KEY `idempotency_key` (`idempotency_key`),
  KEY `state` (`state`, `supplier_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
