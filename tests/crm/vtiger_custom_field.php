<?php
/*
 * One text custom field on a vtiger module, made through vtiger's own vtlib API the way
 * Settings -> Module Layouts & Fields makes it. Idempotent.
 *
 * Usage: php vtiger_custom_field.php VTIGER_WWW MODULE cf_name "Label"
 * (prints "MODULE cf_name created|exists")
 */

if ($argc < 5 || !is_dir($argv[1]) || !preg_match('/^cf_[a-z0-9_]{1,40}$/', $argv[3])) {
    fwrite(STDERR, "usage: php vtiger_custom_field.php VTIGER_WWW MODULE cf_name Label\n");
    exit(2);
}
[, $www, $moduleName, $name, $label] = $argv;
chdir($www);
require_once 'config.php';
require_once 'vendor/autoload.php';
include_once 'vtlib/Vtiger/Module.php';
include_once 'includes/main/WebUI.php';

$tables = ['Accounts' => 'vtiger_accountscf', 'Contacts' => 'vtiger_contactscf'];
$module = Vtiger_Module::getInstance($moduleName);
if (!$module || !isset($tables[$moduleName])) {
    fwrite(STDERR, "unknown module $moduleName\n");
    exit(2);
}
if (Vtiger_Field::getInstance($name, $module)) {
    echo "$moduleName $name exists\n";
    exit(0);
}
$block = Vtiger_Block::getInstance('LBL_CUSTOM_INFORMATION', $module);
$field = new Vtiger_Field();
$field->name = $name;
$field->column = $name;
$field->table = $tables[$moduleName];
$field->label = $label;
$field->uitype = 1;
$field->typeofdata = 'V~O~LE~100';
$field->columntype = 'VARCHAR(100)';
$field->generatedtype = 2;
$field->masseditable = 1;
$block->addField($field);
echo "$moduleName $name created\n";
