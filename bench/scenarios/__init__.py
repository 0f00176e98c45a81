"""The benchmark's scenarios, in the order `make bench` runs them."""

from bench.scenarios.burst import scenario_anatomy, scenario_burst, scenario_sustained
from bench.scenarios.eventday import scenario_eventday
from bench.scenarios.fanout import scenario_fanout, scenario_servers
from bench.scenarios.jobs import scenario_jobs
from bench.scenarios.orders import scenario_orders
from bench.scenarios.scale import scenario_import, scenario_reads

SCENARIOS = {
    "eventday": scenario_eventday,
    "burst": scenario_burst,
    "sustained": scenario_sustained,
    "orders": scenario_orders,
    "fanout": scenario_fanout,
    "import": scenario_import,
    "jobs": scenario_jobs,
    "reads": scenario_reads,
    "servers": scenario_servers,
    "anatomy": scenario_anatomy,
}
