-- One row per lane x carrier x date. Each metric sits on its own date basis (glossary): delivery metrics
-- on the delivery date, customs holds on the arrival date, freight cost and shipment counts on the ship
-- date; the three aggregates are full-outer-joined, so a row may carry only some of them.
with shipments as (
    select * from {{ ref('fct_shipments') }}
),

delivered as (
    select
        lane,
        carrier,
        delivery_date as date_day,
        {{ metric('delivered_shipments') }} as delivered_shipments,
        {{ metric('on_time_shipments') }} as on_time_shipments,
        {{ metric('delivery_days_median') }} as delivery_days_median,
        {{ metric('delivery_days_p90') }} as delivery_days_p90
    from shipments
    where delivery_date is not null
    group by lane, carrier, delivery_date
),

arrived as (
    select
        lane,
        carrier,
        arrived_date as date_day,
        {{ metric('arrived_shipments') }} as arrived_shipments,
        {{ metric('held_shipments') }} as held_shipments
    from shipments
    where arrived_date is not null
    group by lane, carrier, arrived_date
),

shipped as (
    select
        lane,
        carrier,
        ship_date as date_day,
        {{ metric('shipments') }} as shipments,
        {{ metric('freight_cost_per_kg') }} as freight_cost_per_kg_reporting
    from shipments
    group by lane, carrier, ship_date
),

lanes as (
    select distinct lane, lane_type, origin_warehouse, destination_country from shipments
),

joined as (
    select
        coalesce(delivered.lane, arrived.lane, shipped.lane) as lane,
        coalesce(delivered.carrier, arrived.carrier, shipped.carrier) as carrier,
        coalesce(delivered.date_day, arrived.date_day, shipped.date_day) as date_day,
        coalesce(shipped.shipments, 0) as shipments,
        coalesce(delivered.delivered_shipments, 0) as delivered_shipments,
        coalesce(delivered.on_time_shipments, 0) as on_time_shipments,
        delivered.delivery_days_median,
        delivered.delivery_days_p90,
        coalesce(arrived.arrived_shipments, 0) as arrived_shipments,
        coalesce(arrived.held_shipments, 0) as held_shipments,
        shipped.freight_cost_per_kg_reporting
    from delivered
    full outer join arrived
        on arrived.lane = delivered.lane
        and arrived.carrier = delivered.carrier
        and arrived.date_day = delivered.date_day
    full outer join shipped
        on shipped.lane = coalesce(delivered.lane, arrived.lane)
        and shipped.carrier = coalesce(delivered.carrier, arrived.carrier)
        and shipped.date_day = coalesce(delivered.date_day, arrived.date_day)
)

select
    joined.date_day,
    joined.lane,
    lanes.lane_type,
    lanes.origin_warehouse,
    lanes.destination_country,
    joined.carrier,
    joined.shipments,
    joined.delivered_shipments,
    joined.on_time_shipments,
    {{ metric('on_time_delivery_rate') }} as on_time_rate,
    joined.delivery_days_median,
    joined.delivery_days_p90,
    joined.arrived_shipments,
    joined.held_shipments,
    {{ metric('customs_hold_rate') }} as customs_hold_rate,
    joined.freight_cost_per_kg_reporting
from joined
inner join lanes on lanes.lane = joined.lane
