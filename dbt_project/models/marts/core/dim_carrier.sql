-- One row per carrier seen in the manifests: display name, billing currency and the region it serves
-- (from the warehouses it picks up at). Carriers not in the known list keep their code as name.
with shipments as (
    select * from {{ ref('stg_bronze__shipments') }}
),

known (carrier, carrier_name) as (
    values
        ('yunexpress', 'YunExpress'),
        ('cainiao', 'Cainiao'),
        ('4px', '4PX'),
        ('china_post', 'China Post'),
        ('usps', 'USPS'),
        ('ups', 'UPS'),
        ('dhl_paket', 'DHL Paket'),
        ('dpd', 'DPD'),
        ('royal_mail', 'Royal Mail'),
        ('evri', 'Evri')
),

observed as (
    select
        carrier,
        mode(currency_code) as currency_code,
        case
            when bool_and(origin_warehouse like 'CN-%') then 'cross_border'
            when bool_and(origin_warehouse not like 'CN-%') then 'last_mile'
            else 'mixed'
        end as lane_type,
        case
            when bool_and(origin_warehouse like 'CN-%') then 'China cross-border'
            when bool_and(origin_warehouse = 'US-ONT') then 'North America'
            when bool_and(origin_warehouse = 'DE-LEJ') then 'Europe'
            when bool_and(origin_warehouse = 'GB-BHX') then 'United Kingdom'
            else 'Mixed'
        end as region,
        min(ship_date) as first_ship_date,
        max(ship_date) as last_ship_date
    from shipments
    group by carrier
)

select
    observed.carrier,
    coalesce(known.carrier_name, observed.carrier) as carrier_name,
    observed.currency_code,
    observed.region,
    observed.lane_type,
    observed.first_ship_date,
    observed.last_ship_date
from observed
left join known on known.carrier = observed.carrier
