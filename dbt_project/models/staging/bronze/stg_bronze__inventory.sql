-- One row per warehouse x SKU x snapshot date: end-of-day stock (re-delivered rows: latest ingest wins).
-- Incremental builds test only the recent snapshot dates (test_window_column; macros/test_window.sql): a filter
-- on snapshot_date reaches the Delta scan through the window, which partitions by it.
{{ config(test_window_column='snapshot_date') }}

with source as (
    select * from {{ source('bronze', 'inventory') }}
),

renamed as (
    select
        warehouse as warehouse_code,
        sku,
        seller_id,
        event_date as snapshot_date,
        snapshot_ts as snapshot_at,
        qty_on_hand,
        qty_reserved,
        qty_available,
        qty_inbound,
        inbound_eta
    from source
    qualify row_number() over (partition by warehouse, sku, event_date order by _ingested_at desc) = 1
)

select * from renamed
