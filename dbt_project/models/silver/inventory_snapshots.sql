-- One row per warehouse x SKU x snapshot date: end-of-day stock from the warehouse management system.
-- Origin warehouses (CN-*) ship cross-border; overseas ones (US-ONT, DE-LEJ, GB-BHX) the last mile.
{{ config(incremental_column='snapshot_date') }}

with inventory as (
    select * from {{ ref('stg_bronze__inventory') }}
    {% if incremental_window_start() %} where snapshot_date >= {{ incremental_window_start() }} {% endif %}
)

select
    warehouse_code,
    sku,
    seller_id,
    snapshot_date,
    snapshot_at,
    case when warehouse_code like 'CN-%' then 'origin' else 'overseas' end as warehouse_kind,
    qty_on_hand,
    qty_reserved,
    qty_available,
    qty_inbound,
    inbound_eta,
    qty_available = 0 as is_stocked_out
from inventory
