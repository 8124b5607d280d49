-- One row per shipment x order carried: the manifest's pipe-separated order_ids split once here.
with shipments as (
    select shipment_id, ship_date, string_split(order_ids, '|') as order_id_list
    from {{ ref('stg_bronze__shipments') }}
),

unnested as (
    select
        shipment_id,
        ship_date,
        trim(unnest(order_id_list)) as order_id,
        generate_subscripts(order_id_list, 1) as order_position
    from shipments
)

select *
from unnested
where order_id <> ''
qualify row_number() over (partition by shipment_id, order_id order by order_position) = 1
