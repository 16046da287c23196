<?php
/*
 * Designer's write-back fields on vtiger's Organisations (Accounts) and Contacts, made
 * through vtiger's own vtlib API the way Settings -> Module Layouts & Fields makes custom
 * fields (a column in the module's custom-field table, a row in vtiger_field, profile
 * permissions). Idempotent: fields that exist are left as they are.
 *
 * Usage: php vtiger_fields.php VTIGER_WWW   (prints one "module field created|exists" line each)
 */

if ($argc < 2 || !is_dir($argv[1])) {
    fwrite(STDERR, "usage: php vtiger_fields.php VTIGER_WWW\n");
    exit(2);
}
chdir($argv[1]);
require_once 'config.php';
require_once 'vendor/autoload.php';
include_once 'vtlib/Vtiger/Module.php';
include_once 'includes/main/WebUI.php';

$fields = [
    // name => [label, uitype, typeofdata, column type]
    'cf_designer_opens' => ['Designer opens', 7, 'I~O', 'INT(11)'],
    'cf_designer_human_opens' => ['Designer opens (likely human)', 7, 'I~O', 'INT(11)'],
    'cf_designer_last_opened' => ['Designer last opened', 5, 'D~O', 'DATE'],
    'cf_designer_last_sent' => ['Designer last e-mail sent', 5, 'D~O', 'DATE'],
    'cf_designer_last_opened_at' => ['Designer last opened (time)', 1, 'V~O~LE~30', 'VARCHAR(30)'],
];
$tables = ['Accounts' => 'vtiger_accountscf', 'Contacts' => 'vtiger_contactscf'];

foreach ($tables as $moduleName => $table) {
    $module = Vtiger_Module::getInstance($moduleName);
    $block = Vtiger_Block::getInstance('LBL_CUSTOM_INFORMATION', $module);
    foreach ($fields as $name => [$label, $uitype, $typeofdata, $columntype]) {
        if (Vtiger_Field::getInstance($name, $module)) {
            echo "$moduleName $name exists\n";
            continue;
        }
        $field = new Vtiger_Field();
        $field->name = $name;
        $field->column = $name;
        $field->table = $table;
        $field->label = $label;
        $field->uitype = $uitype;
        $field->typeofdata = $typeofdata;
        $field->columntype = $columntype;
        $field->generatedtype = 2;  // a custom field, as the layout editor makes them
        $field->masseditable = 1;
        $block->addField($field);
        echo "$moduleName $name created\n";
    }
}
