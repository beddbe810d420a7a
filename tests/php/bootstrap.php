<?php
/**
 * PHPUnit bootstrap: one OpenCart version per run (OC_VERSION, default 4.1.0.4), a database of its
 * own loaded from the repository's demo dump (sandbox/opencart/*.sql), dropped at the end.
 *
 * Environment: OC_VERSION, KERVAN_TEST_MYSQL_HOST (127.0.0.1), _PORT (3306), _USER (root), _PASSWORD ('').
 */
declare(strict_types=1);

$root = dirname(__DIR__, 2);
$version = getenv('OC_VERSION') ?: '4.1.0.4';
$dumps = ['4.1.0.4' => 'opencart4104_demo.sql', '4.0.2.3' => 'opencart4023_demo.sql'];

if (!isset($dumps[$version])) {
	fwrite(STDERR, "OC_VERSION must be one of " . implode(', ', array_keys($dumps)) . "\n");
	exit(2);
}

define('KERVAN_ROOT', $root);
define('KERVAN_EXT', $root . '/opencart_extension');
define('VERSION', $version);
define('DB_PREFIX', 'oc_');
define('DB_HOSTNAME', getenv('KERVAN_TEST_MYSQL_HOST') ?: '127.0.0.1');
define('DB_PORT', (int)(getenv('KERVAN_TEST_MYSQL_PORT') ?: 3306));
define('DB_USERNAME', getenv('KERVAN_TEST_MYSQL_USER') ?: 'root');
define('DB_PASSWORD', getenv('KERVAN_TEST_MYSQL_PASSWORD') ?: '');
define('DB_DATABASE', 'kervan_phptest_' . str_replace('.', '', $version) . '_' . bin2hex(random_bytes(4)));

// A throw-away DIR_EXTENSION holding what the zip would put in extension/kervan/system/sql/.
$tmp = sys_get_temp_dir() . '/' . DB_DATABASE;
mkdir($tmp . '/extension/kervan/system/sql', 0777, true);
mkdir($tmp . '/logs', 0777, true);

foreach (glob($root . '/schema/migrations/*.sql') as $file) {
	copy($file, $tmp . '/extension/kervan/system/sql/' . basename($file));
}

define('DIR_EXTENSION', $tmp . '/extension/');
define('DIR_LOGS', $tmp . '/logs/');
define('KERVAN_TMP', $tmp);

require '/usr/share/php/Twig/autoload.php';
require __DIR__ . '/engine.php';
require __DIR__ . '/TestCase.php';

// OpenCart's autoloader rule for extension folders: CamelCase → snake_case file names.
spl_autoload_register(function (string $class): void {
	$map = [
		'Opencart\\System\\Library\\Extension\\Kervan\\'   => KERVAN_EXT . '/system/library/',
		'Opencart\\Admin\\Controller\\Extension\\Kervan\\'  => KERVAN_EXT . '/admin/controller/',
		'Opencart\\Catalog\\Controller\\Extension\\Kervan\\' => KERVAN_EXT . '/catalog/controller/',
	];

	foreach ($map as $ns => $dir) {
		if (str_starts_with($class, $ns)) {
			$file = $dir . trim(str_replace('\\', '/', strtolower(preg_replace('~([a-z])([A-Z]|[0-9])~', '\1_\2', substr($class, strlen($ns))))), '/') . '.php';

			if (is_file($file)) {
				require_once $file;
			}
		}
	}
});

// Create the database from the demo dump.
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
$server = new mysqli(DB_HOSTNAME, DB_USERNAME, DB_PASSWORD, '', DB_PORT);
$server->query('CREATE DATABASE `' . DB_DATABASE . '` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
$server->select_db(DB_DATABASE);
$dump = file_get_contents($root . '/sandbox/opencart/' . $dumps[$version]);
$server->multi_query("SET autocommit = 0;\n" . $dump . "\nCOMMIT;");

do {
	if ($result = $server->store_result()) {
		$result->free();
	}
} while ($server->more_results() && $server->next_result());

$server->close();

register_shutdown_function(function () use ($tmp): void {
	$server = new mysqli(DB_HOSTNAME, DB_USERNAME, DB_PASSWORD, '', DB_PORT);
	$server->query('DROP DATABASE IF EXISTS `' . DB_DATABASE . '`');
	$server->close();

	$it = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($tmp, FilesystemIterator::SKIP_DOTS), RecursiveIteratorIterator::CHILD_FIRST);

	foreach ($it as $f) {
		$f->isDir() ? rmdir($f->getPathname()) : unlink($f->getPathname());
	}

	rmdir($tmp);
});
