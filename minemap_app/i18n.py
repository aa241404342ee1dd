"""Ukrainian and English texts of the web app, number/area/date formatting.

Every visible string is looked up by key with :func:`t`. Keys starting with ``map.`` are
handed to :mod:`minemap.webmap` (without the prefix) so map legends and popups follow
the language switch too. A missing key falls back to English, then to the key itself,
and a test checks that both languages define the same keys.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from minemap.reports.i18n import format_month
from minemap.webmap import format_number

__all__ = ["TEXTS", "fmt_area", "fmt_date", "fmt_number", "map_text", "t"]

_EN: dict[str, str] = {
    "app.title": "minemap — mine clearance priorities",
    "app.language": "Мова / Language",
    "app.store": "Data store",
    "app.role": "Role",
    "nav.map": "Map",
    "nav.priorities": "Priorities",
    "nav.upload": "Upload",
    "nav.reports": "Reports",
    "nav.quality": "Data quality",
    "backend.store_missing": (
        "The data store is not available in this build of minemap, so no data can be shown "
        "yet. The map shows oblast boundaries only."
    ),
    "backend.risk_missing": (
        "The priority engine is not available in this build of minemap: no priority scores "
        "can be shown yet."
    ),
    "backend.ingest_missing": (
        "The upload pipeline is not available in this build of minemap: files cannot be "
        "checked or imported yet."
    ),
    "backend.reports_missing": (
        "The report generator is coming (issue 5). This page will offer period and area "
        "selection and PDF/spreadsheet downloads once it is installed."
    ),
    "error.store": "The data store could not be read: {problem}",
    "error.generic": "Something went wrong: {problem}",
    "error.risk": "Priorities could not be computed: {problem}",
    "map.title": "Clearance map",
    "map.caption": (
        "Priority tasks, hazard areas, released land, strikes and casualties. Use the "
        "filters on the left; tick layers in the map's layer switcher. Click a task for its "
        "score breakdown."
    ),
    "map.filters": "Map filters",
    "map.layers": "Layers",
    "map.period": "Period (situation at its end)",
    "map.oblast": "Oblast",
    "map.all_oblasts": "All of Ukraine",
    "map.view": "View",
    "map.view.auto": "Automatic",
    "map.view.summary": "Summary (H3 cells), features in view when zoomed in",
    "map.view.detail": "Individual features",
    "map.basemap": "Basemap",
    "map.basemap.none": "None (offline, oblast outlines)",
    "map.basemap.osm": "OpenStreetMap (needs internet)",
    "map.empty": "No data in the store yet. Upload surveys on the Upload page.",
    "map.tasks_computing": (
        "Priority tasks as of the period's end are still being computed; the other layers "
        "are on the map and the tasks appear as soon as they are ready."
    ),
    "map.summary_note": (
        "{n} features: showing the national summary. Zoom in or choose an oblast to see "
        "individual features."
    ),
    "map.counts": "Shown: {counts}",
    "map.detail_in_view": "Features in view (zoom {zoom}): {counts}",
    "map.detail_capped": "{layer}: {shown} of {total}",
    "map.detail_capped_note": (
        "Not every feature in view is drawn (most important first): zoom in to see the rest."
    ),
    "map.zoom_for_detail": (
        "Zoom in to level {zoom} or closer to see the individual features in view."
    ),
    "map.focus": "Selected task: {task}",
    "map.focus_clear": "Clear the selected task",
    "map.no_dates": "No dated records yet.",
    "map.layer.tasks": "Priority tasks",
    "map.layer.hazards": "Hazard areas (SHA/CHA)",
    "map.layer.strikes": "Strike sites",
    "map.layer.casualties": "Casualties (clusters)",
    "map.layer.casualties_heat": "Casualties (heat map)",
    "map.layer.cleared": "Released land",
    "map.layer.farmland": "Farmland",
    "map.layer.settlements": "Settlements",
    "map.layer.admin": "Oblast boundaries",
    "map.layer.h3": "Summary by area (H3)",
    "map.legend.priority": "Priority score",
    "map.legend.hazards": "Hazard areas",
    "map.legend.released": "Released land",
    "map.legend.casualties": "Casualties: time since incident",
    "map.legend.other": "Other layers",
    "map.SHA": "Suspected (SHA)",
    "map.CHA": "Confirmed (CHA)",
    "map.cleared": "Cleared",
    "map.reduced": "Reduced",
    "map.cancelled": "Cancelled",
    "map.farmland": "Farmland",
    "map.strike": "Strike site",
    "map.settlement": "Settlement (people exposed)",
    "map.recency.0": "under 3 months",
    "map.recency.1": "3–12 months",
    "map.recency.2": "1–3 years",
    "map.recency.3": "over 3 years",
    "map.field.task_id": "Task",
    "map.field.priority_rank": "Rank",
    "map.field.priority_score": "Score",
    "map.field.area": "Area",
    "map.field.farmland_area": "Farmland in task",
    "map.field.evidence_class": "Evidence",
    "map.field.expected_items": "Expected items",
    "map.field.contributions": "Score breakdown",
    "map.field.id": "Id",
    "map.field.date": "Date",
    "map.field.type": "Type",
    "map.field.contamination": "Contamination",
    "map.field.status": "Status",
    "map.field.operator": "Operator",
    "map.field.method": "Method",
    "map.field.munition": "Munition",
    "map.field.killed_injured": "Killed / injured",
    "map.field.land_use": "Land use",
    "map.field.name": "Name",
    "map.field.population": "Population",
    "map.field.count": "Records",
    "map.field.casualties": "Casualties",
    "map.unit.ha": "ha",
    "map.unit.m2": "m²",
    "map.unit.km2": "km²",
    "layer.tasks": "Priority tasks",
    "layer.hazards": "Hazard areas",
    "layer.cleared": "Released land",
    "layer.farmland": "Farmland",
    "layer.strikes": "Strike sites",
    "layer.casualties": "Casualties",
    "layer.settlements": "Settlements (population)",
    "prio.title": "Priorities",
    "prio.caption": (
        "The ranked clearance tasks with each component of the score. Move the weights to "
        "re-rank live; the stability view shows how much a task's rank depends on them."
    ),
    "prio.weights": "Weights",
    "prio.reset": "Reset weights",
    "prio.table": "Ranked tasks",
    "prio.filter": "Filter by task id or evidence",
    "prio.download": "Download ranked tasks",
    "prio.sensitivity": "Stability of the ranking",
    "prio.sensitivity_caption": (
        "Best and worst rank of each task when every weight is varied by ±{pct} %."
    ),
    "prio.no_tasks": "No tasks to rank: the store has no hazard areas yet.",
    "prio.rank_range": "Rank range",
    "upload.title": "Upload survey data",
    "upload.caption": (
        "Choose the layer, add one or more files (GeoJSON, GeoPackage, zipped Shapefile, "
        "KML, CSV). Every problem and every repair is listed before anything is saved; a "
        "commit imports all files or none."
    ),
    "upload.layer": "Layer",
    "upload.files": "Files",
    "upload.commit": "Import all checked files",
    "upload.too_big": "{file}: {size} MB is over the upload limit of {limit} MB.",
    "upload.ok": "{file}: {n} features ready to import.",
    "upload.rejected": "{file}: {n} problems must be fixed before import.",
    "upload.errors": "Problems (must be fixed)",
    "upload.repairs": "Repairs minemap made",
    "upload.warnings": "Warnings",
    "upload.committed": "Imported {n} files as batches: {batches}.",
    "upload.history": "Import history",
    "upload.undo": "Undo batch",
    "upload.undone": "Batch {batch} was undone.",
    "upload.nothing": "Add files: they are checked at once; nothing is saved until you import.",
    "upload.blocked": "Nothing was imported: fix the problems above, then check again.",
    "upload.more": "… and {n} more (download the full report below).",
    "upload.report_csv": "Download the full report (CSV)",
    "upload.preview": "Preview of the file's features",
    "upload.undo_pick": "Batch to undo",
    "upload.undo_role": "Only planners can undo batches.",
    "upload.rolled_back": (
        "Importing {file} failed, so the files imported before it were undone: nothing was "
        "imported. {problem}"
    ),
    "upload.none_ok": "No problems, no repairs.",
    "upload.status.active": "active",
    "upload.status.undone": "undone",
    "reports.title": "Reports",
    "reports.caption": "Period and area reports for funders and coordination meetings.",
    "reports.period": "Period",
    "reports.format": "Format",
    "reports.summary": "Report for {area}, {start} – {end}.",
    "reports.generate": "Build the report",
    "reports.download": "Download the report ({fmt})",
    "quality.title": "Data quality",
    "quality.caption": (
        "What was rejected or repaired in recent imports, and released polygons that "
        "overlap each other."
    ),
    "quality.batches": "Recent imports",
    "quality.repairs": "Repairs in recent imports",
    "quality.overlaps": "Overlapping released polygons",
    "quality.no_overlaps": "No released polygons overlap.",
    "quality.no_batches": "No imports yet.",
    "component.casualty_risk": "Casualty risk",
    "component.expected_items": "Expected items",
    "component.people_exposed": "People exposed (living nearby)",
    "component.evidence_strength": "Evidence strength",
    "component.farmland_impact": "Farmland impact",
    "component.cost_per_ha": "Cost per ha (lower is better)",
    "map.component.casualty_risk": "casualty risk",
    "map.component.expected_items": "expected items",
    "map.component.people_exposed": "people exposed",
    "map.component.evidence_strength": "evidence strength",
    "map.component.farmland_impact": "farmland impact",
    "map.component.cost_per_ha": "cost per ha",
    "prio.top": "Top of the ranking: {tasks}",
    "prio.no_people": (
        "People exposed are not counted: the store has no settlements layer (upload one on "
        "the Upload page). Their weight does nothing until then."
    ),
    "prio.all_zero": "At least one weight must be above zero.",
    "prio.select_hint": "Select a row (or choose a task below) to show it on the map.",
    "prio.pick_task": "Task to show on the map",
    "prio.pick_none": "(choose a task)",
    "prio.show_on_map": "Show on map",
    "prio.picked": "Selected: #{rank} {task}",
    "prio.tab.table": "Ranking",
    "prio.tab.sensitivity": "Stability",
    "prio.run_sensitivity": "Compute stability (±20 % per weight, leave-one-out)",
    "prio.scenarios": "Scenarios: how much of the ranking survives each change",
    "prio.weights_note": "Only the ratios between weights matter. Defaults: {name}.",
    "col.rank_min": "Best rank",
    "col.rank_max": "Worst rank",
    "col.top_share": "Share of scenarios in top {n}",
    "col.depends_on": "Depends on",
    "col.scenario": "Scenario",
    "col.kendall_tau": "Kendall τ vs base",
    "col.top_kept": "Top kept",
    "col.cost_uah": "Cost, UAH (low–high)",
    "quality.rejections": "Rejected uploads",
    "quality.no_rejections": "No rejected uploads recorded.",
    "quality.no_repairs": "No repairs in recent imports.",
    "quality.outside": "Casualty and strike records outside every task",
    "quality.outside_caption": (
        "Records the priority engine could not attribute to any task (e.g. in released land): "
        "never silently dropped."
    ),
    "quality.no_outside": "Every casualty and strike record lies in a task.",
    "col.repairs": "Repairs",
    "col.warnings": "Warnings",
    "col.errors": "Problems",
    "col.record": "Record",
    "col.reason": "Reason",
    "col.task_id": "Task",
    "col.priority_rank": "Rank",
    "col.priority_score": "Score",
    "col.area_ha": "Area, ha",
    "col.farmland_ha": "Farmland, ha",
    "col.people_exposed": "People nearby",
    "col.evidence_class": "Evidence",
    "col.expected_items": "Expected items",
    "col.batch_id": "Batch",
    "col.layer": "Layer",
    "col.file": "File",
    "col.user": "User",
    "col.when": "When",
    "col.features": "Features",
    "col.status": "Status",
    "col.feature": "Feature",
    "col.field": "Field",
    "col.problem": "Problem",
    "col.fix": "How to fix",
    "col.repair": "Repair",
    "col.overlap_m2": "Overlap, m²",
    "col.a": "Polygon A",
    "col.b": "Polygon B",
    # sign-in, roles, admin (issue 6)
    "nav.signin": "Sign in",
    "nav.admin": "Accounts & audit",
    "nav.backtest": "Back-test",
    "signin.title": "Sign in to minemap",
    "signin.caption": (
        "minemap holds the positions of live hazards and the names of the people they hurt: "
        "sign in with the account your administrator gave you."
    ),
    "signin.name": "Account name",
    "signin.password": "Password",
    "signin.submit": "Sign in",
    "signin.sso": "Sign in with single sign-on",
    "signin.no_accounts": (
        "This data store has no accounts yet. The operator creates the first one on the "
        "server: `minemap users add NAME --role admin`."
    ),
    "auth.signed_in_as": "Signed in as **{user}** ({role})",
    "auth.sign_out": "Sign out",
    "auth.denied": "Not allowed: {problem}",
    "auth.session_over": "Your session has ended. Please sign in again.",
    "auth.no_download": "Your role may not download layer data.",
    "role.planner": "planner",
    "role.field": "field team",
    "role.funder": "funder",
    "role.admin": "administrator",
    "role.None": "not signed in",
    "prio.weights_locked": "Only planners change the weights; you see the team's ranking.",
    "reports.no_download": (
        "Your role sees data as funders do but may not download reports; ask a planner or "
        "a funder account."
    ),
    "map.aggregate_note": (
        "Casualties, strike sites and hazard areas are shown for your role as counts per "
        "area (H3 cells of about 250 km²), never as exact positions."
    ),
    "map.cells": "cells",
    "map.agg.casualties": "{label}: incidents {incidents}, killed and injured {people}",
    "map.agg.features": "{label}: {n}",
    "admin.title": "Accounts and audit log",
    "admin.caption": (
        "Add and disable accounts, change roles and passwords; every change is written to "
        "the append-only audit log, which you can read and export here."
    ),
    "admin.accounts": "Accounts",
    "admin.col.name": "Account",
    "admin.col.role": "Role",
    "admin.col.state": "State",
    "admin.col.by": "Created by",
    "admin.col.action": "Action",
    "admin.col.detail": "Detail",
    "admin.enabled": "active",
    "admin.disabled": "disabled",
    "admin.add": "Add an account",
    "admin.add_submit": "Add account",
    "admin.new_password": "New password (at least 12 characters)",
    "admin.added": "Account {name} added.",
    "admin.change": "Change an account",
    "admin.what": "Change",
    "admin.do.disable": "disable",
    "admin.do.enable": "enable",
    "admin.do.role": "change role",
    "admin.do.password": "set a new password",
    "admin.apply": "Apply",
    "admin.changed": "Account {name} changed.",
    "admin.audit": "Audit log (newest first)",
    "admin.audit_csv": "Export the audit log (CSV)",
    "bt.title": "Back-test",
    "bt.caption": (
        "How well would the ranking have pointed at what clearance later found and where "
        "people were later hurt? The ranking is rebuilt as of a past date from earlier "
        "records only and scored against what happened afterwards."
    ),
    "bt.as_of": "Rank as of",
    "bt.until": "Score what happened until",
    "bt.weights": "Weight sets to compare (at most {n})",
    "bt.default_weights": "shipped default",
    "bt.upload_weights": "Add weight files (TOML)",
    "bt.too_many": "At most {n} weight sets are compared; the first {n} are used.",
    "bt.bad_weights": "The weight file {file} cannot be used: {problem}",
    "bt.run": "Run the back-test",
    "bt.no_data": "No dated records to back-test with yet.",
    "bt.bad_period": "The end of the scoring period must be after the ranking date.",
    "bt.curve": "Gain curve: share of later {outcome} in the top share of ranked area",
    "bt.outcome.findings": "findings",
    "bt.outcome.harm": "casualty incidents",
    "bt.x": "Share of ranked hazard area",
    "bt.y": "Share of the outcome",
    "bt.random": "random order",
    "bt.area_only": "area only",
    "bt.table": "Comparison (95 % intervals from the bootstrap)",
    "bt.verdicts": "In plain words",
    "bt.col.ranking": "Weight set",
    "bt.col.outcome": "Outcome",
    "bt.col.auc": "ROC AUC",
    "bt.col.gain": "Top {k} %: share",
    "bt.col.lift": "Top {k} %: × random",
    "bt.failed": "The back-test could not run: {problem}",
    "bt.nothing": "No later {outcome} inside the ranked area in this period: nothing to judge by.",
    # --- back-test: spatial blocks and PDF (session 3) ---
    "bt.blocks": "Spatial block hold-out",
    "bt.blocks_help": (
        "Tasks go into square grid blocks dealt into folds; intervals then resample whole "
        "blocks (neighbours are alike), and with several weight sets each fold is scored "
        "with the set that did best on the other folds."
    ),
    "bt.folds": "Number of folds",
    "bt.block_km": "Block size (km)",
    "bt.blocks_title": "Spatial block hold-out",
    "bt.blocks_caption": (
        "{n_blocks} blocks of {size} km dealt into {folds} folds; the intervals above "
        "resample whole blocks. Each ranking's own figures per fold:"
    ),
    "bt.col.fold": "Fold",
    "bt.col.tasks": "Tasks",
    "bt.col.blocks": "Blocks",
    "bt.col.gain25": "Top 25 %: share",
    "bt.warnings": "Warnings",
    "bt.download_pdf": "Download the back-test (PDF)",
}

_UK: dict[str, str] = {
    "app.title": "minemap — пріоритети розмінування",
    "app.language": "Мова / Language",
    "app.store": "Сховище даних",
    "app.role": "Роль",
    "nav.map": "Карта",
    "nav.priorities": "Пріоритети",
    "nav.upload": "Завантаження",
    "nav.reports": "Звіти",
    "nav.quality": "Якість даних",
    "backend.store_missing": (
        "Сховище даних недоступне в цій збірці minemap, тому дані поки не показуються. "
        "На карті лише межі областей."
    ),
    "backend.risk_missing": (
        "Модуль пріоритизації недоступний у цій збірці minemap: оцінки пріоритету поки "
        "не показуються."
    ),
    "backend.ingest_missing": (
        "Конвеєр завантаження недоступний у цій збірці minemap: файли поки не можна "
        "перевірити чи імпортувати."
    ),
    "backend.reports_missing": (
        "Генератор звітів незабаром (задача 5). Тут буде вибір періоду й території та "
        "завантаження PDF і таблиць, щойно його встановлять."
    ),
    "error.store": "Не вдалося прочитати сховище даних: {problem}",
    "error.generic": "Щось пішло не так: {problem}",
    "error.risk": "Не вдалося обчислити пріоритети: {problem}",
    "map.title": "Карта розмінування",
    "map.caption": (
        "Пріоритетні завдання, небезпечні території, звільнені землі, удари й постраждалі. "
        "Фільтри — ліворуч; шари вмикайте в перемикачі на карті. Натисніть на завдання, "
        "щоб побачити складові оцінки."
    ),
    "map.filters": "Фільтри карти",
    "map.layers": "Шари",
    "map.period": "Період (стан на його кінець)",
    "map.oblast": "Область",
    "map.all_oblasts": "Уся Україна",
    "map.view": "Вигляд",
    "map.view.auto": "Автоматично",
    "map.view.summary": "Огляд (комірки H3), об'єкти в полі зору при наближенні",
    "map.view.detail": "Окремі об'єкти",
    "map.basemap": "Підкладка",
    "map.basemap.none": "Без підкладки (офлайн, межі областей)",
    "map.basemap.osm": "OpenStreetMap (потрібен інтернет)",
    "map.empty": "У сховищі ще немає даних. Завантажте обстеження на сторінці «Завантаження».",
    "map.tasks_computing": (
        "Пріоритетні завдання на кінець періоду ще обчислюються; інші шари вже на мапі, "
        "завдання з'являться, щойно будуть готові."
    ),
    "map.summary_note": (
        "{n} об'єктів: показано загальнонаціональний огляд. Наблизьте карту або оберіть "
        "область, щоб побачити окремі об'єкти."
    ),
    "map.counts": "Показано: {counts}",
    "map.detail_in_view": "Об'єкти в полі зору (масштаб {zoom}): {counts}",
    "map.detail_capped": "{layer}: {shown} з {total}",
    "map.detail_capped_note": (
        "Показано не всі об'єкти в полі зору (спершу найважливіші): наблизьте, щоб побачити решту."
    ),
    "map.zoom_for_detail": "Наблизьте до масштабу {zoom} або ближче, щоб побачити окремі об'єкти.",
    "map.focus": "Вибране завдання: {task}",
    "map.focus_clear": "Зняти вибір завдання",
    "map.no_dates": "Ще немає записів з датами.",
    "map.layer.tasks": "Пріоритетні завдання",
    "map.layer.hazards": "Небезпечні території (ПНТ/ПдНТ)",
    "map.layer.strikes": "Місця ударів",
    "map.layer.casualties": "Постраждалі (кластери)",
    "map.layer.casualties_heat": "Постраждалі (теплова карта)",
    "map.layer.cleared": "Звільнені землі",
    "map.layer.farmland": "Сільгоспугіддя",
    "map.layer.settlements": "Населені пункти",
    "map.layer.admin": "Межі областей",
    "map.layer.h3": "Огляд за територією (H3)",
    "map.legend.priority": "Оцінка пріоритету",
    "map.legend.hazards": "Небезпечні території",
    "map.legend.released": "Звільнені землі",
    "map.legend.casualties": "Постраждалі: час від події",
    "map.legend.other": "Інші шари",
    "map.SHA": "Підозрювана (ПНТ)",
    "map.CHA": "Підтверджена (ПдНТ)",
    "map.cleared": "Очищено",
    "map.reduced": "Зменшено",
    "map.cancelled": "Скасовано",
    "map.farmland": "Сільгоспугіддя",
    "map.strike": "Місце удару",
    "map.settlement": "Населений пункт (люди поруч)",
    "map.recency.0": "до 3 місяців",
    "map.recency.1": "3–12 місяців",
    "map.recency.2": "1–3 роки",
    "map.recency.3": "понад 3 роки",
    "map.field.task_id": "Завдання",
    "map.field.priority_rank": "Місце",
    "map.field.priority_score": "Оцінка",
    "map.field.area": "Площа",
    "map.field.farmland_area": "Сільгоспугіддя в завданні",
    "map.field.evidence_class": "Докази",
    "map.field.expected_items": "Очікувано предметів",
    "map.field.contributions": "Складова оцінки",
    "map.field.id": "Ідентифікатор",
    "map.field.date": "Дата",
    "map.field.type": "Тип",
    "map.field.contamination": "Забруднення",
    "map.field.status": "Стан",
    "map.field.operator": "Оператор",
    "map.field.method": "Метод",
    "map.field.munition": "Боєприпас",
    "map.field.killed_injured": "Загинуло / поранено",
    "map.field.land_use": "Угіддя",
    "map.field.name": "Назва",
    "map.field.population": "Населення",
    "map.field.count": "Записів",
    "map.field.casualties": "Постраждалі",
    "map.unit.ha": "га",
    "map.unit.m2": "м²",
    "map.unit.km2": "км²",
    "layer.tasks": "Пріоритетні завдання",
    "layer.hazards": "Небезпечні території",
    "layer.cleared": "Звільнені землі",
    "layer.farmland": "Сільгоспугіддя",
    "layer.strikes": "Місця ударів",
    "layer.casualties": "Постраждалі",
    "layer.settlements": "Населені пункти (населення)",
    "prio.title": "Пріоритети",
    "prio.caption": (
        "Ранжовані завдання з розмінування з кожною складовою оцінки. Змінюйте ваги — "
        "рейтинг оновиться одразу; вкладка стабільності показує, наскільки місце завдання "
        "залежить від ваг."
    ),
    "prio.weights": "Ваги",
    "prio.reset": "Скинути ваги",
    "prio.table": "Ранжовані завдання",
    "prio.filter": "Фільтр за ідентифікатором або доказами",
    "prio.download": "Завантажити ранжовані завдання",
    "prio.sensitivity": "Стабільність рейтингу",
    "prio.sensitivity_caption": (
        "Найкраще й найгірше місце кожного завдання, якщо кожну вагу змінити на ±{pct} %."
    ),
    "prio.no_tasks": "Немає завдань для ранжування: у сховищі ще немає небезпечних територій.",
    "prio.rank_range": "Діапазон місць",
    "upload.title": "Завантаження даних обстежень",
    "upload.caption": (
        "Оберіть шар, додайте один чи кілька файлів (GeoJSON, GeoPackage, Shapefile у zip, "
        "KML, CSV). Перед збереженням показано кожну проблему й кожне виправлення; імпорт "
        "зберігає всі файли або жодного."
    ),
    "upload.layer": "Шар",
    "upload.files": "Файли",
    "upload.commit": "Імпортувати всі перевірені файли",
    "upload.too_big": "{file}: {size} МБ перевищує ліміт завантаження {limit} МБ.",
    "upload.ok": "{file}: {n} об'єктів готові до імпорту.",
    "upload.rejected": "{file}: {n} проблем треба виправити перед імпортом.",
    "upload.errors": "Проблеми (треба виправити)",
    "upload.repairs": "Виправлення, зроблені minemap",
    "upload.warnings": "Попередження",
    "upload.committed": "Імпортовано {n} файлів як пакети: {batches}.",
    "upload.history": "Історія імпорту",
    "upload.undo": "Скасувати пакет",
    "upload.undone": "Пакет {batch} скасовано.",
    "upload.nothing": "Додайте файли: їх одразу перевірять; нічого не збережеться до імпорту.",
    "upload.blocked": "Нічого не імпортовано: виправте проблеми вище й перевірте знову.",
    "upload.more": "… і ще {n} (повний звіт можна завантажити нижче).",
    "upload.report_csv": "Завантажити повний звіт (CSV)",
    "upload.preview": "Попередній перегляд об'єктів файлу",
    "upload.undo_pick": "Пакет для скасування",
    "upload.undo_role": "Скасовувати пакети можуть лише планувальники.",
    "upload.rolled_back": (
        "Імпорт {file} не вдався, тому файли, імпортовані перед ним, скасовано: нічого не "
        "імпортовано. {problem}"
    ),
    "upload.none_ok": "Жодних проблем і виправлень.",
    "upload.status.active": "активний",
    "upload.status.undone": "скасований",
    "reports.title": "Звіти",
    "reports.caption": "Звіти за період і територією для донорів і координаційних нарад.",
    "reports.period": "Період",
    "reports.format": "Формат",
    "reports.summary": "Звіт для: {area}, {start} – {end}.",
    "reports.generate": "Створити звіт",
    "reports.download": "Завантажити звіт ({fmt})",
    "quality.title": "Якість даних",
    "quality.caption": (
        "Що було відхилено чи виправлено в останніх імпортах, і звільнені полігони, що "
        "перекривають один одного."
    ),
    "quality.batches": "Останні імпорти",
    "quality.repairs": "Виправлення в останніх імпортах",
    "quality.overlaps": "Звільнені полігони, що перекриваються",
    "quality.no_overlaps": "Звільнені полігони не перекриваються.",
    "quality.no_batches": "Імпортів ще немає.",
    "component.casualty_risk": "Ризик для людей",
    "component.expected_items": "Очікувані предмети",
    "component.people_exposed": "Населення поблизу",
    "component.evidence_strength": "Сила доказів",
    "component.farmland_impact": "Вплив на сільгоспугіддя",
    "component.cost_per_ha": "Вартість на га (менша — краще)",
    "map.component.casualty_risk": "ризик для людей",
    "map.component.expected_items": "очікувані предмети",
    "map.component.people_exposed": "населення поблизу",
    "map.component.evidence_strength": "сила доказів",
    "map.component.farmland_impact": "вплив на сільгоспугіддя",
    "map.component.cost_per_ha": "вартість на га",
    "prio.top": "Початок рейтингу: {tasks}",
    "prio.no_people": (
        "Населення поблизу не враховано: у сховищі немає шару населених пунктів (завантажте "
        "його на сторінці «Завантаження»). Доти ця вага нічого не змінює."
    ),
    "prio.all_zero": "Принаймні одна вага має бути більшою за нуль.",
    "prio.select_hint": "Виберіть рядок (або завдання нижче), щоб показати його на карті.",
    "prio.pick_task": "Завдання, яке показати на карті",
    "prio.pick_none": "(оберіть завдання)",
    "prio.show_on_map": "Показати на карті",
    "prio.picked": "Вибрано: №{rank} {task}",
    "prio.tab.table": "Рейтинг",
    "prio.tab.sensitivity": "Стабільність",
    "prio.run_sensitivity": "Обчислити стабільність (±20 % кожної ваги, без однієї)",
    "prio.scenarios": "Сценарії: яка частина рейтингу зберігається за кожної зміни",
    "prio.weights_note": "Важать лише співвідношення ваг. Типові: {name}.",
    "col.rank_min": "Найкраще місце",
    "col.rank_max": "Найгірше місце",
    "col.top_share": "Частка сценаріїв у топ-{n}",
    "col.depends_on": "Залежить від",
    "col.scenario": "Сценарій",
    "col.kendall_tau": "τ Кендалла щодо базового",
    "col.top_kept": "Топ збережено",
    "col.cost_uah": "Вартість, грн (мін.–макс.)",
    "quality.rejections": "Відхилені завантаження",
    "quality.no_rejections": "Відхилених завантажень не записано.",
    "quality.no_repairs": "В останніх імпортах виправлень немає.",
    "quality.outside": "Записи про постраждалих і удари поза всіма завданнями",
    "quality.outside_caption": (
        "Записи, які модуль пріоритизації не зміг віднести до жодного завдання (наприклад, "
        "на звільнених землях): вони ніколи не зникають мовчки."
    ),
    "quality.no_outside": "Кожен запис про постраждалих і удари належить до завдання.",
    "col.repairs": "Виправлень",
    "col.warnings": "Попереджень",
    "col.errors": "Проблем",
    "col.record": "Запис",
    "col.reason": "Причина",
    "col.task_id": "Завдання",
    "col.priority_rank": "Місце",
    "col.priority_score": "Оцінка",
    "col.area_ha": "Площа, га",
    "col.farmland_ha": "Сільгоспугіддя, га",
    "col.people_exposed": "Мешканців поблизу",
    "col.evidence_class": "Докази",
    "col.expected_items": "Очікувано предметів",
    "col.batch_id": "Пакет",
    "col.layer": "Шар",
    "col.file": "Файл",
    "col.user": "Користувач",
    "col.when": "Коли",
    "col.features": "Об'єктів",
    "col.status": "Стан",
    "col.feature": "Об'єкт",
    "col.field": "Поле",
    "col.problem": "Проблема",
    "col.fix": "Як виправити",
    "col.repair": "Виправлення",
    "col.overlap_m2": "Перекриття, м²",
    "col.a": "Полігон A",
    "col.b": "Полігон B",
    # вхід, ролі, адміністрування (issue 6)
    "nav.signin": "Вхід",
    "nav.admin": "Облікові записи й журнал",
    "nav.backtest": "Ретроперевірка",
    "signin.title": "Вхід до minemap",
    "signin.caption": (
        "minemap зберігає розташування небезпек і імена постраждалих: увійдіть з обліковим "
        "записом, який вам видав адміністратор."
    ),
    "signin.name": "Ім'я облікового запису",
    "signin.password": "Пароль",
    "signin.submit": "Увійти",
    "signin.sso": "Увійти через єдиний вхід (SSO)",
    "signin.no_accounts": (
        "У цьому сховищі ще немає облікових записів. Оператор створює перший на сервері: "
        "`minemap users add NAME --role admin`."
    ),
    "auth.signed_in_as": "Ви увійшли як **{user}** ({role})",
    "auth.sign_out": "Вийти",
    "auth.denied": "Заборонено: {problem}",
    "auth.session_over": "Ваш сеанс завершився. Увійдіть знову.",
    "auth.no_download": "Ваша роль не може завантажувати дані шарів.",
    "role.planner": "планувальник",
    "role.field": "польова команда",
    "role.funder": "донор",
    "role.admin": "адміністратор",
    "role.None": "не ввійшли",
    "prio.weights_locked": "Ваги змінюють лише планувальники; ви бачите рейтинг команди.",
    "reports.no_download": (
        "Ваша роль бачить дані як донор, але не може завантажувати звіти; зверніться до "
        "планувальника або донора."
    ),
    "map.aggregate_note": (
        "Для вашої ролі постраждалі, місця ударів і небезпечні території показані як "
        "кількість на ділянку (комірки H3 близько 250 км²), ніколи як точні місця."
    ),
    "map.cells": "комірок",
    "map.agg.casualties": "{label}: випадків {incidents}, загиблих і поранених {people}",
    "map.agg.features": "{label}: {n}",
    "admin.title": "Облікові записи та журнал аудиту",
    "admin.caption": (
        "Додавайте й вимикайте облікові записи, змінюйте ролі й паролі; кожна зміна "
        "записується до незмінного журналу аудиту, який тут можна переглянути й вивантажити."
    ),
    "admin.accounts": "Облікові записи",
    "admin.col.name": "Обліковий запис",
    "admin.col.role": "Роль",
    "admin.col.state": "Стан",
    "admin.col.by": "Створив",
    "admin.col.action": "Дія",
    "admin.col.detail": "Подробиці",
    "admin.enabled": "активний",
    "admin.disabled": "вимкнений",
    "admin.add": "Додати обліковий запис",
    "admin.add_submit": "Додати",
    "admin.new_password": "Новий пароль (щонайменше 12 символів)",
    "admin.added": "Обліковий запис {name} додано.",
    "admin.change": "Змінити обліковий запис",
    "admin.what": "Зміна",
    "admin.do.disable": "вимкнути",
    "admin.do.enable": "увімкнути",
    "admin.do.role": "змінити роль",
    "admin.do.password": "задати новий пароль",
    "admin.apply": "Застосувати",
    "admin.changed": "Обліковий запис {name} змінено.",
    "admin.audit": "Журнал аудиту (спершу нові)",
    "admin.audit_csv": "Вивантажити журнал аудиту (CSV)",
    "bt.title": "Ретроперевірка",
    "bt.caption": (
        "Наскільки добре рейтинг вказав би на те, що розмінування знайшло згодом, і де "
        "згодом постраждали люди? Рейтинг відтворюється на минулу дату лише з попередніх "
        "записів і порівнюється з тим, що сталося потім."
    ),
    "bt.as_of": "Рейтинг на дату",
    "bt.until": "Оцінювати події до",
    "bt.weights": "Набори ваг для порівняння (не більше {n})",
    "bt.default_weights": "стандартні ваги",
    "bt.upload_weights": "Додати файли ваг (TOML)",
    "bt.too_many": "Порівнюється не більше {n} наборів ваг; використано перші {n}.",
    "bt.bad_weights": "Файл ваг {file} не можна використати: {problem}",
    "bt.run": "Запустити ретроперевірку",
    "bt.no_data": "Ще немає датованих записів для ретроперевірки.",
    "bt.bad_period": "Кінець періоду оцінювання має бути після дати рейтингу.",
    "bt.curve": "Крива виграшу: частка пізніших {outcome} у верхній частці площі рейтингу",
    "bt.outcome.findings": "знахідок",
    "bt.outcome.harm": "випадків з постраждалими",
    "bt.x": "Частка площі рейтингу",
    "bt.y": "Частка результату",
    "bt.random": "випадковий порядок",
    "bt.area_only": "лише площа",
    "bt.table": "Порівняння (95 % інтервали бутстрепу)",
    "bt.verdicts": "Простими словами",
    "bt.col.ranking": "Набір ваг",
    "bt.col.outcome": "Результат",
    "bt.col.auc": "ROC AUC",
    "bt.col.gain": "Верхні {k} %: частка",
    "bt.col.lift": "Верхні {k} %: × випадковий",
    "bt.failed": "Ретроперевірку не вдалося виконати: {problem}",
    "bt.nothing": (
        "У цьому періоді немає пізніших {outcome} у площі рейтингу: немає з чим порівняти."
    ),
    # --- back-test: spatial blocks and PDF (session 3) ---
    "bt.blocks": "Просторова перевірка блоками",
    "bt.blocks_help": (
        "Завдання розподіляються на квадратні блоки сітки, розкладені в групи; інтервали "
        "тоді перевибирають цілі блоки (сусіди схожі), а з кількома наборами ваг кожну "
        "групу оцінюють набором, що найкраще показав себе на інших групах."
    ),
    "bt.folds": "Кількість груп",
    "bt.block_km": "Розмір блоку (км)",
    "bt.blocks_title": "Просторова перевірка блоками",
    "bt.blocks_caption": (
        "{n_blocks} блоків по {size} км, розкладених у {folds} груп; інтервали вище "
        "перевибирають цілі блоки. Показники кожного рейтингу за групами:"
    ),
    "bt.col.fold": "Група",
    "bt.col.tasks": "Завдань",
    "bt.col.blocks": "Блоків",
    "bt.col.gain25": "Верхні 25 %: частка",
    "bt.warnings": "Застереження",
    "bt.download_pdf": "Завантажити ретроперевірку (PDF)",
}

TEXTS: dict[str, dict[str, str]] = {"en": _EN, "uk": _UK}


def t(key: str, lang: str, **values: object) -> str:
    """The text for ``key`` in ``lang`` (English, then the key, as fallbacks), formatted."""
    text = TEXTS.get(lang, _EN).get(key) or _EN.get(key) or key
    return text.format(**values) if values else text


def map_text(lang: str) -> dict[str, str]:
    """Texts for :class:`minemap.webmap.MapOptions` (``map.`` keys without the prefix)."""
    merged = {**_EN, **TEXTS.get(lang, _EN)}
    return {k.removeprefix("map."): v for k, v in merged.items() if k.startswith("map.")}


def fmt_number(value: float | None, lang: str, *, decimals: int = 0) -> str:
    """``12,345.6`` in English, ``12 345,6`` in Ukrainian; NA → ``–`` (the map's formatter)."""
    return format_number(value, decimals=decimals, decimal_comma=lang == "uk")


def fmt_area(area_m2: float | None, lang: str) -> str:
    """An area with a sensible unit: m² under 1 ha, ha under 1 km², else km²."""
    if area_m2 is None or (isinstance(area_m2, float) and math.isnan(area_m2)):
        return "–"
    unit = {k: t(f"map.unit.{k}", lang) for k in ("m2", "ha", "km2")}
    if area_m2 >= 1_000_000:
        return f"{fmt_number(area_m2 / 1_000_000, lang, decimals=2)} {unit['km2']}"
    if area_m2 >= 10_000:
        return f"{fmt_number(area_m2 / 10_000, lang, decimals=1)} {unit['ha']}"
    return f"{fmt_number(area_m2, lang)} {unit['m2']}"


def fmt_date(value: date | datetime | None, lang: str) -> str:
    """``5 Mar 2024`` in English, ``5 бер. 2024`` in Ukrainian; None → ``–``."""
    if value is None:
        return "–"
    return f"{value.day} {format_month(value, lang)}"
