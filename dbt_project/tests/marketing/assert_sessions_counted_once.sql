-- Every bronze session is counted exactly once: one fct_sessions row per distinct bronze session_id, its
-- events add up to the bronze events, and kpi_daily / channel_daily sum to the same session count.
with bronze as (
    select count(distinct session_id) as sessions, count(*) as events
    from {{ source('bronze', 'clicks') }}
),

fact as (
    select count(*) as sessions, count(distinct session_id) as distinct_sessions, sum(events) as events
    from {{ ref('fct_sessions') }}
),

marts as (
    select
        (select sum(sessions) from {{ ref('kpi_daily') }}) as kpi_daily_sessions,
        (select sum(sessions) from {{ ref('channel_daily') }}) as channel_daily_sessions
)

select bronze.sessions as bronze_sessions, bronze.events as bronze_events, fact.*, marts.*
from bronze cross join fact cross join marts
where fact.sessions <> bronze.sessions
    or fact.distinct_sessions <> bronze.sessions
    or fact.events <> bronze.events
    or marts.kpi_daily_sessions <> bronze.sessions
    or marts.channel_daily_sessions <> bronze.sessions
