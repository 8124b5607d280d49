-- The is_paid flag set by the session classification agrees with dim_channel (the two lists of paid
-- channels must not drift apart).
select sessions.channel, sessions.is_paid, dim_channel.is_paid as dim_is_paid, count(*) as sessions
from {{ ref('fct_sessions') }} as sessions
left join {{ ref('dim_channel') }} as dim_channel on dim_channel.channel = sessions.channel
where dim_channel.is_paid is distinct from sessions.is_paid
group by all
