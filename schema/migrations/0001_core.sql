-- Kervan's own tables, beside OpenCart's and with its prefix ({prefix} is replaced by the
-- migration runner and by the extension installer alike). Every statement is idempotent, because
-- MariaDB commits DDL implicitly and a half-applied migration must be safe to run again.
-- Times are TIMESTAMP: stored as UTC whatever time zone the PHP or Python session uses.

CREATE TABLE IF NOT EXISTS `{prefix}kervan_migration` (
  `version` VARCHAR(64) NOT NULL,
  `name` VARCHAR(255) NOT NULL,
  `checksum` CHAR(64) NOT NULL,
  `applied_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Transactional outbox. Written by the OpenCart extension on OpenCart's own connection and by
-- Kervan itself; the relay claims rows by state (published_at IS NULL), never by an id cursor.
CREATE TABLE IF NOT EXISTS `{prefix}kervan_outbox` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `event_id` CHAR(36) NOT NULL,
  `event_type` VARCHAR(64) NOT NULL,
  `aggregate_type` VARCHAR(32) NOT NULL,
  `aggregate_id` VARCHAR(64) NOT NULL,
  `payload` TEXT NOT NULL,
  `correlation_id` CHAR(36) NULL,
  `source` VARCHAR(32) NOT NULL DEFAULT 'opencart',
  `created_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `published_at` TIMESTAMP(6) NULL DEFAULT NULL,
  `publish_attempts` INT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `event_id` (`event_id`),
  KEY `unpublished` (`published_at`, `id`),
  KEY `aggregate` (`aggregate_type`, `aggregate_id`, `id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per marketplace account. `credentials` is reserved for encrypted values (JSON once
-- decrypted); nothing else in Kervan stores a secret.
CREATE TABLE IF NOT EXISTS `{prefix}kervan_channel` (
  `channel_id` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `code` VARCHAR(32) NOT NULL,
  `account` VARCHAR(64) NOT NULL DEFAULT 'default',
  `name` VARCHAR(128) NOT NULL,
  `base_url` VARCHAR(255) NOT NULL,
  `seller_id` VARCHAR(64) NOT NULL DEFAULT '',
  `credentials` TEXT NULL,
  `settings` TEXT NULL,
  `status` TINYINT(1) NOT NULL DEFAULT 1,
  `paused` TINYINT(1) NOT NULL DEFAULT 0,
  `created_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updated_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`channel_id`),
  UNIQUE KEY `code_account` (`code`, `account`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Local → remote mappings per channel (category, brand, attribute), seeded for now and edited
-- in the admin later. `extra` is JSON (e.g. a category's fixed attribute values).
CREATE TABLE IF NOT EXISTS `{prefix}kervan_mapping` (
  `mapping_id` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `channel_id` INT UNSIGNED NOT NULL,
  `kind` VARCHAR(16) NOT NULL,
  `local_id` VARCHAR(64) NOT NULL,
  `remote_id` VARCHAR(64) NOT NULL,
  `extra` TEXT NULL,
  `updated_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`mapping_id`),
  UNIQUE KEY `channel_kind_local` (`channel_id`, `kind`, `local_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Product × channel: what the marketplace holds for it and what it last said about it.
-- `confirmed_body` is the listing as the marketplace last accepted it (JSON), so a change sends
-- only the fields that differ; `content_hash` is its hash, `pending_hash` the one in flight.
CREATE TABLE IF NOT EXISTS `{prefix}kervan_listing` (
  `listing_id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `channel_id` INT UNSIGNED NOT NULL,
  `product_id` INT NOT NULL,
  `remote_sku` VARCHAR(128) NULL,
  `remote_id` VARCHAR(128) NULL,
  `status` VARCHAR(16) NOT NULL DEFAULT 'new',
  `content_hash` CHAR(64) NULL,
  `confirmed_body` MEDIUMTEXT NULL,
  `pending_hash` CHAR(64) NULL,
  `batch_id` VARCHAR(128) NULL,
  `last_error` TEXT NULL,
  `last_event_id` CHAR(36) NULL,
  `attempts` INT UNSIGNED NOT NULL DEFAULT 0,
  `submitted_at` TIMESTAMP(6) NULL DEFAULT NULL,
  `synced_at` TIMESTAMP(6) NULL DEFAULT NULL,
  `created_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updated_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`listing_id`),
  UNIQUE KEY `channel_product` (`channel_id`, `product_id`),
  KEY `channel_sku` (`channel_id`, `remote_sku`),
  KEY `channel_status` (`channel_id`, `status`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Asynchronous batch requests (Trendyol batchRequestId, HB tracking id, N11 task, SP-API feed).
CREATE TABLE IF NOT EXISTS `{prefix}kervan_batch` (
  `batch_id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `channel_id` INT UNSIGNED NOT NULL,
  `remote_batch_id` VARCHAR(128) NOT NULL,
  `kind` VARCHAR(32) NOT NULL,
  `status` VARCHAR(16) NOT NULL DEFAULT 'submitted',
  `item_count` INT UNSIGNED NOT NULL DEFAULT 0,
  `failed_count` INT UNSIGNED NOT NULL DEFAULT 0,
  `checks` INT UNSIGNED NOT NULL DEFAULT 0,
  `last_error` TEXT NULL,
  `submitted_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `next_check_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `completed_at` TIMESTAMP(6) NULL DEFAULT NULL,
  PRIMARY KEY (`batch_id`),
  UNIQUE KEY `channel_remote` (`channel_id`, `remote_batch_id`),
  KEY `pending` (`status`, `next_check_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Per-item outcome of a batch: which product/SKU, which part of the listing (create, content,
-- variant, price_stock, delete), the fields sent, and what the marketplace said.
CREATE TABLE IF NOT EXISTS `{prefix}kervan_batch_item` (
  `batch_item_id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `batch_id` BIGINT UNSIGNED NOT NULL,
  `product_id` INT NOT NULL,
  `item_key` VARCHAR(128) NOT NULL,
  `part` VARCHAR(16) NOT NULL DEFAULT 'create',
  `payload` MEDIUMTEXT NULL,
  `content_hash` CHAR(64) NULL,
  `status` VARCHAR(16) NOT NULL DEFAULT 'pending',
  `message` TEXT NULL,
  PRIMARY KEY (`batch_item_id`),
  UNIQUE KEY `batch_key` (`batch_id`, `item_key`),
  KEY `product` (`product_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Marketplace order → OpenCart order, unique per channel: the exactly-once guard of order import.
CREATE TABLE IF NOT EXISTS `{prefix}kervan_order_link` (
  `order_link_id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `channel_id` INT UNSIGNED NOT NULL,
  `remote_order_id` VARCHAR(128) NOT NULL,
  `order_id` INT NOT NULL,
  `remote_status` VARCHAR(64) NULL,
  `flags` VARCHAR(255) NULL,
  `created_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `updated_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`order_link_id`),
  UNIQUE KEY `channel_remote` (`channel_id`, `remote_order_id`),
  KEY `order_id` (`order_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Messages the fleet gave up on: poison, or attempts exhausted. Visible in the admin, replayable.
CREATE TABLE IF NOT EXISTS `{prefix}kervan_parked` (
  `parked_id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `message_id` VARCHAR(64) NOT NULL,
  `queue` VARCHAR(255) NOT NULL,
  `routing_key` VARCHAR(255) NOT NULL DEFAULT '',
  `event_type` VARCHAR(64) NULL,
  `headers` TEXT NULL,
  `body` MEDIUMBLOB NOT NULL,
  `reason` TEXT NOT NULL,
  `attempts` INT UNSIGNED NOT NULL DEFAULT 0,
  `status` VARCHAR(16) NOT NULL DEFAULT 'open',
  `first_failed_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `last_failed_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `resolved_at` TIMESTAMP(6) NULL DEFAULT NULL,
  PRIMARY KEY (`parked_id`),
  UNIQUE KEY `queue_message` (`queue`, `message_id`),
  KEY `status` (`status`, `last_failed_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Liveness of every fleet process, written by the process itself.
CREATE TABLE IF NOT EXISTS `{prefix}kervan_heartbeat` (
  `process_id` VARCHAR(128) NOT NULL,
  `role` VARCHAR(32) NOT NULL,
  `channel` VARCHAR(32) NOT NULL DEFAULT '',
  `host` VARCHAR(128) NOT NULL,
  `pid` INT UNSIGNED NOT NULL,
  `state` VARCHAR(16) NOT NULL DEFAULT 'running',
  `counters` TEXT NULL,
  `started_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  `last_seen` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`process_id`),
  KEY `role_channel` (`role`, `channel`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Exactly-once effects: a consumer records each event id it applied in its write-back transaction.
CREATE TABLE IF NOT EXISTS `{prefix}kervan_processed` (
  `consumer` VARCHAR(64) NOT NULL,
  `event_id` CHAR(36) NOT NULL,
  `processed_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`consumer`, `event_id`),
  KEY `processed_at` (`processed_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
