-- Each marketplace's categories and their attributes, as Kervan last downloaded them (see
-- workers/categories.py), so the admin's mapping page can offer a searchable list instead of a
-- typed id. Rebuilt on every refresh: rows the marketplace no longer lists are deleted.
-- Remote ids are strings because Amazon's "categories" are product type names and Hepsiburada's
-- attribute ids are names like "renk_variant_property".

CREATE TABLE IF NOT EXISTS `{prefix}kervan_category` (
  `category_id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `channel_id` INT UNSIGNED NOT NULL,
  `remote_id` VARCHAR(64) NOT NULL,
  `parent_remote_id` VARCHAR(64) NULL,
  `name` VARCHAR(255) NOT NULL,
  `path` TEXT NOT NULL,
  `leaf` TINYINT(1) NOT NULL DEFAULT 1,
  `fetched_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`category_id`),
  UNIQUE KEY `channel_remote` (`channel_id`, `remote_id`),
  KEY `channel_leaf` (`channel_id`, `leaf`),
  KEY `channel_parent` (`channel_id`, `parent_remote_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- `values_json` is a JSON array of {"id", "name"} (empty when the attribute takes free text only);
-- `sort_order` keeps the marketplace's own order of the attributes.
CREATE TABLE IF NOT EXISTS `{prefix}kervan_category_attribute` (
  `category_attribute_id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `channel_id` INT UNSIGNED NOT NULL,
  `category_remote_id` VARCHAR(64) NOT NULL,
  `attribute_id` VARCHAR(128) NOT NULL,
  `name` VARCHAR(255) NOT NULL,
  `required` TINYINT(1) NOT NULL DEFAULT 0,
  `allow_custom` TINYINT(1) NOT NULL DEFAULT 0,
  `values_json` MEDIUMTEXT NULL,
  `sort_order` INT NOT NULL DEFAULT 0,
  `fetched_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (`category_attribute_id`),
  UNIQUE KEY `channel_category_attribute` (`channel_id`, `category_remote_id`, `attribute_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
