-- One row per shipment from the carrier manifests. A re-sent manifest line keeps its latest ingest.
-- order_ids stays the manifest's pipe-separated string (int_shipment_orders__unnested splits it).
with source as (
    select * from {{ source('bronze', 'shipments') }}
),

renamed as (
    select
        shipment_id,
        tracking_number,
        carrier,
        service_level,
        origin_warehouse,
        destination_country,
        weight_kg::double as weight_kg,
        freight_cost::decimal(18, 4) as freight_cost,
        upper(currency) as currency_code,
        ship_date,
        promised_delivery_date,
        order_ids,
        _source_file as source_file,
        _ingested_at as ingested_at
    from source
    qualify row_number() over (partition by shipment_id order by _ingested_at desc, _source_line desc) = 1
)

select * from renamed
