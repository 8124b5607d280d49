-- One row per warehouse x SKU x snapshot date: end-of-day stock (re-delivered rows: latest ingest wins).
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
