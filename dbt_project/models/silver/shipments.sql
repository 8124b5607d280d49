-- One row per shipment in the manifests, with its lane, tracking milestones, promised vs actual delivery
-- and freight cost in the reporting currency. Rebuilt in full: a shipment's row changes until it is
-- delivered, weeks after its ship date.
{{ config(materialized='delta') }}

with shipments as (
    select * from {{ ref('stg_bronze__shipments') }}
),

milestones as (
    select * from {{ ref('int_shipments__milestones') }}
),

markets as (
    select market_code, market_timezone from {{ ref('stg_bronze__markets') }}
),

fx as (
    select rate_date, currency_code, to_reporting from {{ ref('int_fx_rates__daily') }}
),

shipment_orders as (
    select
        shipment_orders.shipment_id,
        count(*) as order_count,
        arg_min(orders.seller_id, shipment_orders.order_position) as seller_id,
        min(orders.order_created_at) as order_created_at
    from {{ ref('int_shipment_orders__unnested') }} as shipment_orders
    left join {{ ref('stg_bronze__orders') }} as orders on orders.order_id = shipment_orders.order_id
    group by shipment_orders.shipment_id
),

joined as (
    select
        shipments.shipment_id,
        shipments.tracking_number,
        shipments.origin_warehouse || ' -> ' || shipments.destination_country as lane,
        case when shipments.origin_warehouse like 'CN-%' then 'cross_border' else 'last_mile' end as lane_type,
        shipments.origin_warehouse,
        shipments.destination_country,
        coalesce(markets.market_timezone, 'UTC') as destination_timezone,
        shipments.carrier,
        shipments.service_level,
        shipments.ship_date,
        shipments.promised_delivery_date,
        shipment_orders.order_created_at,
        milestones.picked_up_at,
        milestones.departed_at,
        milestones.arrived_destination_at,
        milestones.customs_held_at,
        milestones.customs_cleared_at,
        milestones.out_for_delivery_at,
        milestones.delivered_at,
        milestones.returned_to_sender_at,
        -- events in the destination country are dated in the destination market's time zone (UTC if unknown)
        timezone(coalesce(markets.market_timezone, 'UTC'), milestones.delivered_at)::date as delivery_date,
        timezone(coalesce(markets.market_timezone, 'UTC'), milestones.arrived_destination_at)::date as arrived_date,
        milestones.customs_hold_hours,
        milestones.exception_count,
        milestones.event_count,
        milestones.last_event_code,
        milestones.last_event_at,
        shipments.weight_kg,
        shipments.freight_cost as freight_cost_original,
        shipments.currency_code,
        shipments.freight_cost * fx.to_reporting as freight_cost_reporting,
        coalesce(shipment_orders.order_count, 0) as order_count,
        shipment_orders.seller_id
    from shipments
    inner join milestones on milestones.shipment_id = shipments.shipment_id
    left join markets on markets.market_code = shipments.destination_country
    left join fx on fx.currency_code = shipments.currency_code and fx.rate_date = shipments.ship_date
    left join shipment_orders on shipment_orders.shipment_id = shipments.shipment_id
)

select
    shipment_id,
    tracking_number,
    lane,
    lane_type,
    origin_warehouse,
    destination_country,
    destination_timezone,
    carrier,
    service_level,
    seller_id,
    order_count,
    ship_date,
    promised_delivery_date,
    order_created_at,
    picked_up_at,
    departed_at,
    arrived_destination_at,
    customs_held_at,
    customs_cleared_at,
    out_for_delivery_at,
    delivered_at,
    returned_to_sender_at,
    delivery_date,
    arrived_date,
    delivery_date - ship_date as delivery_days,
    date_diff('second', order_created_at, picked_up_at) / 3600.0 as order_to_pickup_hours,
    date_diff('second', order_created_at, delivered_at) / 3600.0 as order_to_delivery_hours,
    delivered_at is not null as is_delivered,
    delivery_date <= promised_delivery_date as is_on_time,
    delivery_date > promised_delivery_date as is_late,
    arrived_destination_at is not null as has_arrived,
    customs_held_at is not null as had_customs_hold,
    customs_hold_hours,
    returned_to_sender_at is not null as is_returned_to_sender,
    exception_count,
    event_count,
    last_event_code,
    last_event_at,
    weight_kg,
    freight_cost_original,
    currency_code,
    freight_cost_reporting
from joined
