"""Checks the deployment files without a container runtime: every YAML and
JSON file in deploy/ parses; the configs they ship pass `closeloop
check-config`; deploy/closeloop.yaml judges the sample company by the rules
`closeloop sample --config-out` writes; and the compose stack, the Kubernetes
manifests, the Dockerfile and the dashboard agree with each other (ports,
paths, probes, datasource)."""

import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
# Where the image, compose and k8s configs keep the store: inside the volume.
STORE = "/var/lib/closeloop/store"
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from kafka_harness import CLOSELOOP, DevBroker  # noqa: E402


def load_yaml_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def check_config(text):
    """The effective config `closeloop check-config` prints for `text`."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    try:
        r = subprocess.run([CLOSELOOP, "check-config", f.name], capture_output=True, text=True,
                           timeout=30)
    finally:
        os.unlink(f.name)
    if r.returncode != 0:
        raise AssertionError(f"check-config refused it: {r.stderr}\n{text}")
    return yaml.safe_load(r.stdout)


def read(path):
    with open(os.path.join(HERE, path)) as f:
        return f.read()


def k8s_objects(directory="k8s"):
    out = {}
    for path in sorted(glob.glob(os.path.join(HERE, directory, "*.yaml"))):
        for doc in load_yaml_docs(path):
            out[(doc["kind"], doc.get("metadata", {}).get("name"))] = doc
    return out


def rendered_k8s_config(pod_name):
    cm = k8s_objects()[("ConfigMap", "closeloop-config")]
    return cm["data"]["closeloop.yaml"].replace("__POD_NAME__", pod_name)


class WellFormed(unittest.TestCase):
    def test_every_yaml_and_json_file_parses(self):
        files = [p for p in glob.glob(os.path.join(HERE, "**", "*"), recursive=True)
                 if p.endswith((".yml", ".yaml", ".json"))]
        self.assertGreaterEqual(len(files), 12, files)
        for path in files:
            with self.subTest(path=os.path.relpath(path, ROOT)):
                if path.endswith(".json"):
                    with open(path) as f:
                        json.load(f)
                else:
                    self.assertTrue(load_yaml_docs(path))


class Configs(unittest.TestCase):
    def test_compose_config_is_valid_and_deployable(self):
        effective = check_config(read("closeloop.yaml"))
        self.assertEqual(effective["kafka"]["bootstrap_servers"], "kafka:9092")
        self.assertEqual(effective["http"]["listen"], "0.0.0.0:9464")
        self.assertEqual(effective["state_dir"], STORE)

    def test_compose_sample_writes_beside_the_store_not_into_it(self):
        """The store refuses a directory holding other files: the sample
        service's outputs on the shared volume must be outside state_dir."""
        compose = load_yaml_docs(os.path.join(HERE, "compose.yaml"))[0]["services"]
        for name in ("sample", "closeloop"):
            self.assertIn("closeloop-state:/var/lib/closeloop", compose[name]["volumes"])
        script = " ".join(compose["sample"]["entrypoint"])
        written = re.findall(r"/var/lib/closeloop/[\w.-]+", script)
        self.assertTrue(written)
        for path in written:
            self.assertFalse(path == STORE or path.startswith(STORE + "/"), path)

    def test_compose_config_has_the_sample_companys_rules(self):
        broker = DevBroker(partitions=1)
        try:
            with tempfile.TemporaryDirectory() as d:
                out = os.path.join(d, "sample.yaml")
                subprocess.run([CLOSELOOP, "sample", "--bootstrap", broker.bootstrap, "--deals",
                                "10", "--config-out", out], check=True, capture_output=True,
                               timeout=120)
                with open(out) as f:
                    sample = check_config(f.read())
        finally:
            broker.stop()
        deployed = check_config(read("closeloop.yaml"))
        # Only where and how it runs may differ.
        for cfg in (sample, deployed):
            cfg["kafka"].pop("bootstrap_servers")
            cfg.pop("state_dir")
            cfg.pop("http")
        self.assertEqual(deployed, sample)

    def test_image_default_config_is_valid(self):
        effective = check_config(read("container-default.yaml"))
        self.assertEqual(effective["http"]["listen"], "0.0.0.0:9464")
        self.assertEqual(effective["state_dir"], STORE)

    def test_k8s_config_renders_static_membership_from_the_pod_name(self):
        self.assertIn("__POD_NAME__", rendered_k8s_config("__POD_NAME__"))
        effective = check_config(rendered_k8s_config("closeloop-0"))
        self.assertEqual(effective["kafka"]["properties"]["group.instance.id"], "closeloop-0")
        self.assertEqual(effective["http"]["listen"], "0.0.0.0:9464")


class Kubernetes(unittest.TestCase):
    def setUp(self):
        self.objs = k8s_objects()
        self.sts = self.objs[("StatefulSet", "closeloop")]
        self.pod = self.sts["spec"]["template"]
        self.container = self.pod["spec"]["containers"][0]

    def test_kustomization_lists_every_manifest(self):
        kust = load_yaml_docs(os.path.join(HERE, "k8s", "kustomization.yaml"))[0]
        manifests = {os.path.basename(p) for p in glob.glob(os.path.join(HERE, "k8s", "*.yaml"))}
        self.assertEqual(set(kust["resources"]), manifests - {"kustomization.yaml"})

    def test_one_replica_with_state_on_a_persistent_volume(self):
        self.assertEqual(self.sts["spec"]["replicas"], 1)
        claims = {c["metadata"]["name"]: c for c in self.sts["spec"]["volumeClaimTemplates"]}
        mounts = {m["name"]: m["mountPath"] for m in self.container["volumeMounts"]}
        # The store is a subdirectory of the volume, whose root may hold
        # lost+found (ext4 volumes), which the store would refuse.
        state_dir = yaml.safe_load(rendered_k8s_config("x"))["state_dir"]
        self.assertEqual(state_dir, mounts["state"] + "/store")
        self.assertIn("state", claims)
        self.assertEqual(claims["state"]["spec"]["accessModes"], ["ReadWriteOnce"])

    def test_probes_resources_and_pod_name(self):
        self.assertEqual(self.container["livenessProbe"]["httpGet"]["path"], "/healthz")
        self.assertEqual(self.container["readinessProbe"]["httpGet"]["path"], "/readyz")
        for kind in ("requests", "limits"):
            self.assertEqual(set(self.container["resources"][kind]), {"cpu", "memory"})
        env = {e["name"]: e for e in self.container["env"]}
        self.assertEqual(env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name")
        script = self.container["command"][-1]
        self.assertIn("s/__POD_NAME__/${POD_NAME}/g", script)
        self.assertIn("exec closeloop run --config /etc/closeloop/closeloop.yaml", script)

    def test_scrape_annotations_and_services_point_at_the_http_port(self):
        port = int(yaml.safe_load(rendered_k8s_config("x"))["http"]["listen"].rsplit(":", 1)[1])
        ann = self.pod["metadata"]["annotations"]
        self.assertEqual(ann["prometheus.io/scrape"], "true")
        self.assertEqual(int(ann["prometheus.io/port"]), port)
        self.assertEqual(self.container["ports"][0]["containerPort"], port)
        labels = self.pod["metadata"]["labels"]
        for name in ("closeloop", "closeloop-headless"):
            svc = self.objs[("Service", name)]
            self.assertTrue(svc["spec"]["selector"].items() <= labels.items())
        self.assertEqual(self.sts["spec"]["serviceName"], "closeloop-headless")
        self.assertEqual(self.objs[("Service", "closeloop-headless")]["spec"]["clusterIP"], "None")


class KubernetesScaled(unittest.TestCase):
    """deploy/k8s-scaled: the ingest stage and the matcher tasks as two
    StatefulSets sharing one ConfigMap."""

    def setUp(self):
        self.objs = k8s_objects("k8s-scaled")
        self.template = self.objs[("ConfigMap", "closeloop-scaled-config")]["data"]["closeloop.yaml"]
        self.roles = {name: self.objs[("StatefulSet", "closeloop-" + name)]
                      for name in ("ingest", "matcher")}

    def test_kustomization_lists_every_manifest(self):
        kust = load_yaml_docs(os.path.join(HERE, "k8s-scaled", "kustomization.yaml"))[0]
        manifests = {os.path.basename(p)
                     for p in glob.glob(os.path.join(HERE, "k8s-scaled", "*.yaml"))}
        self.assertEqual(set(kust["resources"]), manifests - {"kustomization.yaml"})

    def test_one_ingest_stage_and_a_matcher_per_task(self):
        effective = check_config(self.template.replace("__POD_NAME__", "closeloop-matcher-1"))
        self.assertEqual(effective["kafka"]["properties"]["group.instance.id"], "closeloop-matcher-1")
        self.assertEqual(self.roles["ingest"]["spec"]["replicas"], 1)
        self.assertEqual(self.roles["matcher"]["spec"]["replicas"], effective["pipeline"]["tasks"])

    def test_each_pod_has_its_state_volume_and_headless_service(self):
        state_dir = yaml.safe_load(self.template)["state_dir"]
        for name, sts in self.roles.items():
            with self.subTest(role=name):
                pod = sts["spec"]["template"]
                container = pod["spec"]["containers"][0]
                mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
                self.assertEqual(mounts["state"], state_dir)
                claims = [c["metadata"]["name"] for c in sts["spec"]["volumeClaimTemplates"]]
                self.assertEqual(claims, ["state"])
                svc = self.objs[("Service", sts["spec"]["serviceName"])]
                self.assertEqual(svc["spec"]["clusterIP"], "None")
                # The service selects this role's pods and no other's.
                self.assertTrue(svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items())
                self.assertEqual(svc["spec"]["selector"]["app.kubernetes.io/component"], name)
                self.assertEqual(sts["spec"]["selector"]["matchLabels"],
                                 svc["spec"]["selector"])
                config = next(v for v in pod["spec"]["volumes"] if v["name"] == "config-template")
                self.assertEqual(config["configMap"]["name"], "closeloop-scaled-config")

    def test_each_pod_runs_its_role_and_task(self):
        """Runs each container's start script with a stand-in `closeloop` that
        prints its arguments, the template in a temporary directory."""
        cases = {"ingest": ("closeloop-ingest-0", ["--role", "ingest"]),
                 "matcher": ("closeloop-matcher-1", ["--role", "matcher", "--task", "1"])}
        for name, (pod_name, role_args) in cases.items():
            with self.subTest(role=name), tempfile.TemporaryDirectory() as tmp:
                script = self.roles[name]["spec"]["template"]["spec"]["containers"][0]["command"]
                self.assertEqual(script[:2], ["/bin/sh", "-c"])
                os.makedirs(os.path.join(tmp, "template"))
                os.makedirs(os.path.join(tmp, "etc"))
                os.makedirs(os.path.join(tmp, "bin"))
                with open(os.path.join(tmp, "template", "closeloop.yaml"), "w") as f:
                    f.write(self.template)
                stub = os.path.join(tmp, "bin", "closeloop")
                with open(stub, "w") as f:
                    f.write('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
                os.chmod(stub, 0o755)
                text = (script[2].replace("/etc/closeloop-template", os.path.join(tmp, "template"))
                        .replace("/etc/closeloop", os.path.join(tmp, "etc")))
                r = subprocess.run(["/bin/sh", "-c", text], capture_output=True, text=True,
                                   env={"PATH": os.path.join(tmp, "bin") + ":/usr/bin:/bin",
                                        "POD_NAME": pod_name}, timeout=30)
                self.assertEqual(r.returncode, 0, r.stderr)
                rendered = os.path.join(tmp, "etc", "closeloop.yaml")
                self.assertEqual(r.stdout.split("\n")[:-1],
                                 ["run", "--config", rendered] + role_args)
                with open(rendered) as f:
                    props = yaml.safe_load(f)["kafka"]["properties"]
                self.assertEqual(props["group.instance.id"], pod_name)


class ComposeAndImage(unittest.TestCase):
    def setUp(self):
        self.compose = load_yaml_docs(os.path.join(HERE, "compose.yaml"))[0]
        self.services = self.compose["services"]

    def test_the_whole_stack(self):
        self.assertEqual(set(self.services),
                         {"kafka", "sample", "closeloop", "prometheus", "grafana"})
        env = self.services["kafka"]["environment"]
        self.assertEqual(env["KAFKA_PROCESS_ROLES"], "broker,controller")  # KRaft

    def test_closeloop_starts_after_the_sample_is_produced(self):
        deps = self.services["closeloop"]["depends_on"]
        self.assertEqual(deps["sample"]["condition"], "service_completed_successfully")
        self.assertEqual(deps["kafka"]["condition"], "service_healthy")
        script = " ".join(self.services["sample"]["entrypoint"])
        self.assertIn("closeloop sample --bootstrap kafka:9092", script)

    def test_bind_mounts_exist_and_builds_use_the_dockerfile(self):
        for name, svc in self.services.items():
            for vol in svc.get("volumes", []):
                source = vol.split(":")[0]
                if source.startswith("."):
                    with self.subTest(service=name, volume=vol):
                        self.assertTrue(os.path.exists(os.path.join(HERE, source)))
            if "build" in svc:
                ctx = os.path.normpath(os.path.join(HERE, svc["build"]["context"]))
                self.assertEqual(ctx, ROOT)
                self.assertTrue(os.path.isfile(os.path.join(ctx, svc["build"]["dockerfile"])))

    def test_prometheus_scrapes_closeloop_and_loads_the_rules(self):
        prom = load_yaml_docs(os.path.join(HERE, "prometheus", "prometheus.yml"))[0]
        targets = prom["scrape_configs"][0]["static_configs"][0]["targets"]
        self.assertEqual(targets, ["closeloop:9464"])
        mounts = self.services["prometheus"]["volumes"]
        self.assertIn("./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro", mounts)
        self.assertEqual(prom["rule_files"], ["alerts.yml"])

    def test_dockerfile(self):
        text = read("Dockerfile")
        self.assertEqual(re.findall(r"^FROM (\S+)", text, re.M),
                         ["debian:bookworm", "debian:bookworm-slim"])
        self.assertIn("bash /src/scripts/setup.sh --build-only", text)
        self.assertRegex(text, r"(?m)^USER closeloop")
        self.assertRegex(text, r"(?m)^VOLUME /var/lib/closeloop$")
        self.assertRegex(text, r"(?m)^EXPOSE 9464$")
        self.assertIn("http://127.0.0.1:9464/healthz", text)
        self.assertIn('ENTRYPOINT ["closeloop", "run", "--config", "/etc/closeloop/closeloop.yaml"]',
                      text)
        for src in re.findall(r"(?m)^COPY (?!--from)(\S+)", text):
            if src != ".":
                self.assertTrue(os.path.exists(os.path.join(ROOT, src)), src)


class Dashboard(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(HERE, "grafana", "closeloop-dashboard.json")) as f:
            self.dash = json.load(f)
        self.panels = self.dash["panels"]

    def test_rows_variables_and_unique_ids(self):
        rows = [p["title"] for p in self.panels if p["type"] == "row"]
        self.assertEqual(rows, ["Money", "Pipeline"])
        ids = [p["id"] for p in self.panels]
        self.assertEqual(len(ids), len(set(ids)))
        names = [v["name"] for v in self.dash["templating"]["list"]]
        self.assertEqual(names, ["tenant", "currency"])

    def test_datasource_is_the_provisioned_one(self):
        ds = load_yaml_docs(os.path.join(HERE, "grafana", "provisioning", "datasources",
                                         "prometheus.yml"))[0]["datasources"][0]
        for p in self.panels:
            if p["type"] != "row":
                self.assertEqual(p["datasource"]["uid"], ds["uid"], p["title"])
        provider = load_yaml_docs(os.path.join(HERE, "grafana", "provisioning", "dashboards",
                                               "closeloop.yml"))[0]["providers"][0]
        compose = load_yaml_docs(os.path.join(HERE, "compose.yaml"))[0]
        mounted = [v.split(":")[1] for v in compose["services"]["grafana"]["volumes"]
                   if v.startswith("./grafana/closeloop-dashboard.json")]
        self.assertEqual([os.path.dirname(m) for m in mounted], [provider["options"]["path"]])

    def test_realization_shows_the_95_percent_target(self):
        panel = next(p for p in self.panels if p["title"] == "Realization rate")
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        self.assertEqual([(s["color"], s["value"]) for s in steps], [("red", None), ("green", 0.95)])

    def test_realization_above_100_percent_stays_on_the_chart(self):
        """Collected can exceed booked (an over-billed deal paid in full): a
        hard axis maximum of 100% would draw 104% as 100%."""
        for p in self.panels:
            if not any("closeloop_period_collected_amount" in t["expr"]
                       for t in p.get("targets", [])):
                continue
            defaults = p["fieldConfig"]["defaults"]
            with self.subTest(panel=p["title"]):
                self.assertNotIn("max", defaults)

    def test_money_panels_follow_the_tenant_and_currency_variables(self):
        for p in self.panels:
            for t in p.get("targets", []):
                expr = t["expr"]
                if re.search(r"closeloop_(period_)?(booked|billed|collected)_amount|amount_at_risk"
                             r"|realization_ratio|recovered_amount", expr):
                    with self.subTest(panel=p["title"]):
                        self.assertIn('tenant=~"$tenant"', expr)
                        self.assertIn('currency=~"$currency"', expr)

    def test_money_is_never_added_across_currencies(self):
        """Every sum of a money metric keeps currency among its labels: USD
        and EUR added into one figure is no amount at all."""
        money = (r"closeloop_(period_)?(booked|billed|collected)_amount|closeloop_amount_at_risk"
                 r"|closeloop_recovered_amount_total")
        sums = 0
        for p in self.panels:
            for t in p.get("targets", []):
                expr = t["expr"]
                # Every sum (by, without or neither) and what it adds: up to
                # the next sum.
                found = list(re.finditer(r"\bsum\s*(?:(by|without)\s*\(([^)]*)\)\s*)?\(", expr))
                for i, m in enumerate(found):
                    body = expr[m.end():found[i + 1].start() if i + 1 < len(found) else None]
                    if re.search(money, body):
                        sums += 1
                        with self.subTest(panel=p["title"], expr=expr):
                            self.assertEqual(m.group(1), "by")
                            self.assertIn("currency", [x.strip() for x in m.group(2).split(",")])
        self.assertGreater(sums, 8)

    def test_money_series_are_never_stacked(self):
        """Grafana adds stacked series up: the top of a stack of USD and EUR
        at risk reads as one total, which no amount is."""
        money = (r"closeloop_(period_)?(booked|billed|collected)_amount|closeloop_amount_at_risk"
                 r"|closeloop_recovered_amount_total")
        for p in self.panels:
            if not any(re.search(money, t["expr"]) for t in p.get("targets", [])):
                continue
            stacking = p["fieldConfig"]["defaults"].get("custom", {}).get("stacking", {})
            with self.subTest(panel=p["title"]):
                self.assertEqual(stacking.get("mode", "none"), "none")


if __name__ == "__main__":
    unittest.main(verbosity=2)
