-- One row per SKU: its row in the latest product snapshot that lists it (snapshots are full tables as of
-- snapshot_date; a SKU dropped from later snapshots keeps its last known attributes).
with source as (
    select * from {{ source('bronze', 'products') }}
),

renamed as (
    select
        sku,
        seller_id,
        category,
        title as product_title,
        list_price_usd::decimal(18, 4) as list_price_usd,
        unit_cost_usd::decimal(18, 4) as unit_cost_usd,
        weight_kg,
        size_class,
        coalesce(lower(overseas_stock) = 'true', false) as is_overseas_stocked,
        snapshot_date
    from source
    qualify row_number() over (partition by sku order by snapshot_date desc, _ingested_at desc) = 1
)

select * from renamed
