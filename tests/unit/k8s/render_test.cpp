// SPDX-License-Identifier: MIT
#include "prisn/k8s/render.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>

#include "prisn/model/deployment_json.hpp"
#include "prisn/model/ingress.hpp"

namespace prisn::k8s {
namespace {

using model::Json;

model::DeploymentSpec deployment(const char* json) {
  auto spec = model::decode_deployment(Json::parse(json), {});
  EXPECT_TRUE(spec) << (spec ? "" : spec.error().message);
  return spec.value();
}

std::vector<Json> render(const std::vector<model::DeploymentSpec>& ds) { return objects(ds, {}, {}); }

const Json& of_kind(const std::vector<Json>& objs, const std::string& kind) {
  for (const auto& o : objs) {
    if (o["kind"] == kind) return o;
  }
  ADD_FAILURE() << "no " << kind;
  static const Json none;
  return none;
}

std::vector<std::string> kinds(const std::vector<Json>& objs) {
  std::vector<std::string> out;
  for (const auto& o : objs) out.push_back(o["kind"].get<std::string>());
  return out;
}

const Json& env_named(const Json& container, const std::string& name) {
  for (const auto& e : container["env"]) {
    if (e["name"] == name) return e;
  }
  ADD_FAILURE() << "no env " << name;
  static const Json none;
  return none;
}

TEST(K8sRender, ServiceBecomesConfigMapDeploymentAndService) {
  auto s = deployment(R"j({"name":"api","source":"print('hi')\n","filename":"api.py","port":8080,"replicas":3,
      "env":{"MODE":"prod","N":"8080"},"secrets":[{"secret":"db","env":"DB_PASSWORD"}],
      "healthCheck":{"http":{"path":"/health"}},"resources":{"memory":"256Mi","cpu":"500m"}})j");
  s.secrets[0].key = "value";
  auto objs = render({s});
  EXPECT_EQ(kinds(objs), (std::vector<std::string>{"ConfigMap", "Deployment", "Service"}));

  const auto& cm = of_kind(objs, "ConfigMap");
  EXPECT_EQ(cm["metadata"]["name"], "api-script");
  EXPECT_EQ(cm["data"]["api.py"], "print('hi')\n");
  EXPECT_EQ(cm["metadata"]["labels"]["prisn.io/deployment"], "api");

  const auto& d = of_kind(objs, "Deployment");
  EXPECT_EQ(d["apiVersion"], "apps/v1");
  EXPECT_EQ(d["spec"]["replicas"], 3);
  EXPECT_EQ(d["spec"]["selector"]["matchLabels"]["prisn.io/deployment"], "api");
  EXPECT_EQ(d["spec"]["template"]["metadata"]["labels"]["prisn.io/deployment"], "api");
  EXPECT_EQ(d["metadata"]["annotations"]["prisn.io/secrets"], "db");
  const auto& c = d["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["image"], "python:3.11-slim");
  EXPECT_EQ(c["command"], Json::parse(R"(["python3","/app/api.py"])"));
  EXPECT_EQ(env_named(c, "PORT")["value"], "8080");
  EXPECT_EQ(env_named(c, "PORT_HTTP")["value"], "8080");
  EXPECT_EQ(env_named(c, "N")["value"], "8080");
  EXPECT_EQ(env_named(c, "DB_PASSWORD")["valueFrom"]["secretKeyRef"],
            Json::parse(R"({"name":"db","key":"value"})"));
  EXPECT_EQ(c["readinessProbe"]["httpGet"], Json::parse(R"({"path":"/health","port":8080})"));
  EXPECT_EQ(c["resources"]["limits"], Json::parse(R"({"memory":"256Mi","cpu":"500m"})"));
  EXPECT_EQ(c["ports"][0]["containerPort"], 8080);
  EXPECT_EQ(d["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"], "api-script");

  const auto& svc = of_kind(objs, "Service");
  EXPECT_EQ(svc["spec"]["selector"]["prisn.io/deployment"], "api");
  EXPECT_EQ(svc["spec"]["ports"][0]["port"], 8080);
  EXPECT_FALSE(svc["spec"].contains("type"));
}

TEST(K8sRender, QuantitiesAreCanonical) {
  auto s = deployment(R"j({"name":"a","source":"x","filename":"a.py","port":80,"resources":{"memory":"1G","cpu":"1"}})j");
  const auto objs = render({s});
  const auto& limits = of_kind(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"];
  EXPECT_EQ(limits["memory"], "1000000000");
  EXPECT_EQ(limits["cpu"], "1000m");
}

TEST(K8sRender, NodePortInsideTheClusterRangeIsKept) {
  auto in = deployment(R"j({"name":"a","source":"x","filename":"a.py","port":80,"expose":{"type":"nodePort","nodePort":30080}})j");
  const auto in_objs = render({in});
  const auto& svc = of_kind(in_objs, "Service");
  EXPECT_EQ(svc["spec"]["type"], "NodePort");
  EXPECT_EQ(svc["spec"]["ports"][0]["nodePort"], 30080);
  auto out = deployment(R"j({"name":"b","source":"x","filename":"b.py","port":80,"expose":{"type":"nodePort","nodePort":9000}})j");
  const auto out_objs = render({out});
  const auto& svc2 = of_kind(out_objs, "Service");
  EXPECT_FALSE(svc2["spec"]["ports"][0].contains("nodePort"));
  EXPECT_EQ(svc2["metadata"]["annotations"]["prisn.io/node-port"], "9000");
}

TEST(K8sRender, CronAndJobBecomeCronJobs) {
  auto cron = deployment(R"j({"name":"report","source":"x","filename":"r.py","schedule":"0 3 * * *"})j");
  auto job = deployment(R"j({"name":"backup","source":"#!/bin/bash\necho\n","filename":"backup.sh"})j");
  auto objs = render({cron, job});
  EXPECT_EQ(kinds(objs), (std::vector<std::string>{"ConfigMap", "CronJob", "ConfigMap", "CronJob"}));
  EXPECT_EQ(objs[1]["apiVersion"], "batch/v1");
  EXPECT_EQ(objs[1]["spec"]["schedule"], "0 3 * * *");
  EXPECT_EQ(objs[1]["spec"]["concurrencyPolicy"], "Forbid");
  EXPECT_EQ(objs[1]["spec"]["suspend"], false);
  EXPECT_EQ(objs[3]["spec"]["suspend"], true);
  EXPECT_NE(objs[3]["metadata"]["annotations"]["prisn.io/trigger"].get<std::string>().find("--from=cronjob/backup"),
            std::string::npos);
  const auto& pod = objs[3]["spec"]["jobTemplate"]["spec"]["template"]["spec"];
  EXPECT_EQ(pod["restartPolicy"], "Never");
  EXPECT_EQ(pod["containers"][0]["image"], "bash:5.2");
}

TEST(K8sRender, PortNamesAreServiceNames) {
  auto s = deployment(R"j({"name":"a","source":"x","filename":"a.py",
      "ports":[{"name":"metrics-endpoint-long","port":9100},{"name":"8080","port":8080}]})j");
  const auto objs = render({s});
  const auto& ports = of_kind(objs, "Service")["spec"]["ports"];
  EXPECT_EQ(ports[0]["name"], "metrics-endpoin");
  EXPECT_EQ(ports[1]["name"], "port-1");
}

TEST(K8sRender, IngressAndPolicy) {
  auto api = deployment(R"j({"name":"api","source":"x","filename":"a.py","port":8080})j");
  auto ing = model::decode_ingress(Json::parse(R"j({"name":"web","rules":[{"host":"api.example.com",
      "paths":[{"path":"/v1","deployment":"api"}]}],"tls":[{"hosts":["api.example.com"],"secretName":"api-tls"}]})j"), {});
  ASSERT_TRUE(ing) << ing.error().message;
  auto pol = model::decode_network_policy(Json::parse(R"j({"name":"db-access","target":{"deployment":"api"},
      "ingress":[{"from":[{"deployment":"worker"}],"ports":[8080]}]})j"), {});
  ASSERT_TRUE(pol) << pol.error().message;
  auto objs = objects({api}, {*ing}, {*pol});
  const auto& i = of_kind(objs, "Ingress");
  EXPECT_EQ(i["apiVersion"], "networking.k8s.io/v1");
  EXPECT_EQ(i["spec"]["rules"][0]["host"], "api.example.com");
  const auto& path = i["spec"]["rules"][0]["http"]["paths"][0];
  EXPECT_EQ(path["pathType"], "Prefix");
  EXPECT_EQ(path["backend"]["service"], Json::parse(R"({"name":"api","port":{"number":8080}})"));
  EXPECT_EQ(i["spec"]["tls"][0]["secretName"], "api-tls");
  const auto& p = of_kind(objs, "NetworkPolicy");
  EXPECT_EQ(p["spec"]["podSelector"]["matchLabels"]["prisn.io/deployment"], "api");
  EXPECT_EQ(p["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["prisn.io/deployment"], "worker");
  EXPECT_EQ(p["spec"]["ingress"][0]["ports"][0]["port"], 8080);
  // What Kubernetes filters beyond what prisn did is said.
  EXPECT_NE(p["metadata"]["annotations"]["prisn.io/note"].get<std::string>().find("ingress controller"),
            std::string::npos);
}

// A rule without a port reaches the Service's first port, as prisn's router does: a port the
// Service lacks (80) would not route in the cluster.
TEST(K8sRender, IngressWithoutAPortNamesTheServicesFirstPort) {
  auto api = deployment(R"j({"name":"api","source":"x","filename":"a.py","ports":[{"name":"web","port":39051},
      {"name":"metrics","port":39052}]})j");
  auto ing = model::decode_ingress(Json::parse(R"j({"name":"web","rules":[{"host":"api.example.com",
      "paths":[{"path":"/","deployment":"api"}]}]})j"), {});
  ASSERT_TRUE(ing) << ing.error().message;
  auto objs = objects({api}, {*ing}, {});
  const auto& path = of_kind(objs, "Ingress")["spec"]["rules"][0]["http"]["paths"][0];
  EXPECT_EQ(path["backend"]["service"], Json::parse(R"({"name":"api","port":{"number":39051}})"));
  EXPECT_EQ(of_kind(objs, "Service")["spec"]["ports"][0]["port"], 39051);
}

TEST(K8sRender, AServiceNameMustBeginWithALetter) {
  EXPECT_NE(unrenderable(deployment(R"j({"name":"1svc","source":"x","filename":"a.py","port":8080})j")).find("1svc"),
            std::string::npos);
  EXPECT_EQ(unrenderable(deployment(R"j({"name":"svc1","source":"x","filename":"a.py","port":8080})j")), "");
  EXPECT_EQ(unrenderable(deployment(R"j({"name":"1job","source":"x","filename":"a.sh"})j")), "");  // no Service
}

TEST(K8sRender, AnEncodedSlashCannotBeInAnIngressPath) {
  EXPECT_NE(unrenderable_path("/a%2Fb").find("encoded slash"), std::string::npos);
  EXPECT_NE(unrenderable_path("/a%2fb/").find("encoded slash"), std::string::npos);
  EXPECT_EQ(unrenderable_path("/a//b/./c"), "");  // written as /a/b/c
  EXPECT_EQ(unrenderable_path("/%61pi"), "");
  const auto why = unrenderable(deployment(
      R"j({"name":"web","source":"x","filename":"a.py","port":8080,"expose":{"type":"ingress","host":"h.example.com","path":"/a%2Fb"}})j"));
  EXPECT_NE(why.find("deployment 'web': its expose.path '/a%2Fb' holds an encoded slash"), std::string::npos) << why;
}

TEST(K8sRender, AnIpAddressCannotBeAnIngressHost) {
  EXPECT_NE(unrenderable_host("10.1.2.3").find("is an IP address"), std::string::npos);
  EXPECT_NE(unrenderable_host("010.1.2.255").find("is an IP address"), std::string::npos);
  for (const char* name : {"api.example.com", "", "*.example.com", "1.2.3", "1.2.3.4.5", "1.2.3.256", "1.2.3.4.",
                           "1.2.3.a", "1234.1.1.1", "1..2.3"}) {
    EXPECT_EQ(unrenderable_host(name), "") << name;
  }
  const auto why = unrenderable(deployment(
      R"j({"name":"web","source":"x","filename":"a.py","port":8080,"expose":{"type":"ingress","host":"10.9.9.9"}})j"));
  EXPECT_NE(why.find("deployment 'web': its expose.host '10.9.9.9' is an IP address"), std::string::npos) << why;
}

// The YAML reads back as the same objects: strings stay strings ("8080", "true", "~"),
// and scripts are byte-exact whatever they hold.
TEST(K8sRender, YamlRoundTrips) {
  const char* scripts[] = {"print('hi')\n", "no newline", "two\n\n", "  indented\n", "tab\there\n", "crlf\r\n",
                           "trailing \nspace\n", "\nleading newline\n", "#!/bin/sh\necho \"$1\" # c: d\n", "ünïcode ✓\n"};
  for (const char* script : scripts) {
    auto s = deployment(R"j({"name":"a","source":"x","filename":"a.py","port":8080,"env":{"T":"true","Z":"~","E":""}})j");
    s.source = script;
    auto objs = render({s});
    auto docs = YAML::LoadAll(to_yaml(objs));
    ASSERT_EQ(docs.size(), objs.size());
    EXPECT_EQ(docs[0]["data"]["a.py"].as<std::string>(), script);
    EXPECT_EQ(docs[0]["data"]["a.py"].Tag(), "!") << "a quoted or literal string";
    const auto env = docs[1]["spec"]["template"]["spec"]["containers"][0]["env"];
    for (const auto& e : env) {
      if (e["value"]) {
        EXPECT_EQ(e["value"].Tag(), "!") << e["name"].as<std::string>() << " is not quoted";
      }
    }
    bool port_seen = false;
    for (const auto& e : env) {
      if (e["name"].as<std::string>() == "PORT") port_seen = e["value"].as<std::string>() == "8080";
    }
    EXPECT_TRUE(port_seen);
    EXPECT_EQ(docs[1]["spec"]["replicas"].as<int>(), 1);
  }
}

TEST(K8sRender, ArgumentsAndShebangOptionsReachTheProcessAsWritten) {
  auto s = deployment(R"j({"name":"a","source":"#!/bin/bash -e\necho\n","filename":"a.sh","args":["$(HOME)","$$x","plain"]})j");
  const Json c = of_kind(render({s}), "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["command"], Json::parse(R"j(["bash","-e","/app/a.sh","$$(HOME)","$$$$x","plain"])j"));
}

// Kubernetes expands $(VAR) and $$ in env values too (EnvVar.value), not only in the command.
TEST(K8sRender, EnvValuesReachTheProcessAsWrittenAndARunHasItsExecutionId) {
  auto s = deployment(R"j({"name":"a","source":"echo\n","filename":"a.sh","env":{"X":"$(PRISN_DEPLOYMENT)","Y":"a$$b","Z":"plain"}})j");
  const Json c = of_kind(render({s}), "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
  std::map<std::string, Json> env;
  for (const auto& e : c["env"]) env[e["name"].get<std::string>()] = e;
  EXPECT_EQ(env.at("X")["value"], "$$(PRISN_DEPLOYMENT)");
  EXPECT_EQ(env.at("Y")["value"], "a$$$$b");
  EXPECT_EQ(env.at("Z")["value"], "plain");
  EXPECT_EQ(env.at("PRISN_EXECUTION_ID")["valueFrom"]["fieldRef"]["fieldPath"], "metadata.labels['job-name']");
  EXPECT_FALSE(env.contains("PRISN_INSTANCE"));
}

// What a Deployment or CronJob cannot say is noted, not dropped without a word.
TEST(K8sRender, WhatKubernetesCannotExpressIsNoted) {
  auto strict = deployment(R"j({"name":"a","source":"x\n","filename":"a.py","port":8080,"restartPolicy":"never",
    "healthCheck":{"http":{"path":"/h","expectedStatus":404}},"loadBalancing":{"algorithm":"least-connections"},
    "resources":{"pids":64}})j");
  const auto objs = render({strict});
  const Json& dep = of_kind(objs, "Deployment");
  const auto note = dep["metadata"]["annotations"]["prisn.io/not-rendered"].get<std::string>();
  EXPECT_NE(note.find("healthCheck expects status 404, which an httpGet probe cannot (it passes on 200-399): no readiness probe"),
            std::string::npos) << note;
  EXPECT_NE(note.find("restartPolicy never: a Deployment's pods always restart"), std::string::npos) << note;
  EXPECT_NE(note.find("algorithm least-connections"), std::string::npos) << note;
  EXPECT_NE(note.find("resources.pids 64"), std::string::npos) << note;
  EXPECT_FALSE(dep["spec"]["template"]["spec"]["containers"][0].contains("readinessProbe"));

  auto loose = deployment(R"j({"name":"b","source":"x\n","filename":"b.py","port":8080,
    "healthCheck":{"http":{"path":"/h","expectedStatus":204}}})j");
  const auto loose_objs = render({loose});
  const Json& b = of_kind(loose_objs, "Deployment");
  EXPECT_EQ(b["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"], "/h");
  EXPECT_EQ(b["metadata"]["annotations"]["prisn.io/not-rendered"],
            "healthCheck expects status 204; the readiness probe passes on any 200-399");

  auto plain = deployment(R"j({"name":"c","source":"x\n","filename":"c.py","port":8080})j");
  const auto plain_objs = render({plain});
  EXPECT_FALSE(of_kind(plain_objs, "Deployment")["metadata"].contains("annotations"));

  auto cron = deployment(R"j({"name":"d","source":"x\n","filename":"d.py","schedule":"0 3 * * *"})j");
  const auto cron_objs = render({cron});
  const Json& job = of_kind(cron_objs, "CronJob");
  EXPECT_FALSE(job["spec"].contains("timeZone"));
  EXPECT_NE(job["metadata"]["annotations"]["prisn.io/not-rendered"].get<std::string>().find("no IANA name"),
            std::string::npos);
}

TEST(K8sRender, AChangedScriptChangesThePodTemplate) {
  auto s = deployment(R"j({"name":"a","source":"v1\n","filename":"a.py","port":8080})j");
  const auto before = of_kind(render({s}), "Deployment")["spec"]["template"];
  s.source = "v2\n";
  const auto after = of_kind(render({s}), "Deployment")["spec"]["template"];
  EXPECT_NE(before["metadata"]["annotations"]["prisn.io/script-hash"], after["metadata"]["annotations"]["prisn.io/script-hash"]);
  EXPECT_EQ(after["spec"]["containers"][0]["env"][2]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name");
}

TEST(K8sRender, IpAffinityBecomesClientIpAffinity) {
  auto s = deployment(R"j({"name":"a","source":"x","filename":"a.py","port":8080,
      "loadBalancing":{"sessionAffinity":{"enabled":true,"type":"ip-hash","ttl":"30m"}}})j");
  const Json svc = of_kind(render({s}), "Service");
  EXPECT_EQ(svc["spec"]["sessionAffinity"], "ClientIP");
  EXPECT_EQ(svc["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"], 1800);
  auto cookie = deployment(R"j({"name":"a","source":"x","filename":"a.py","port":8080,
      "loadBalancing":{"sessionAffinity":{"enabled":true,"type":"cookie","ttl":"1h"}}})j");
  const Json plain = of_kind(render({cookie}), "Service");
  EXPECT_FALSE(plain["spec"].contains("sessionAffinity"));
  EXPECT_TRUE(plain["metadata"]["annotations"].contains("prisn.io/session-affinity"));
}

TEST(K8sRender, ExposedIngressKeepsTlsWithoutACertAndAvoidsAnIngressOfItsName) {
  auto s = deployment(R"j({"name":"shop","source":"x","filename":"a.py","port":8080,
      "expose":{"type":"ingress","host":"secure.example.com","tls":{"enabled":true}}})j");
  RenderOptions options;
  options.ingress_names = {"shop"};
  const auto objs = objects({s}, {}, {}, options);
  const auto& ing = of_kind(objs, "Ingress");
  EXPECT_EQ(ing["metadata"]["name"], "shop-expose");
  EXPECT_EQ(ing["spec"]["tls"], Json::parse(R"([{"hosts":["secure.example.com"]}])"));
}

TEST(K8sRender, EachNamedPortIsInTheEnvironmentAsPrisnGivesIt) {
  auto s = deployment(R"j({"name":"multi","source":"x","filename":"a.py",
      "ports":[{"name":"http","port":8180},{"name":"metrics-v2","port":9190}]})j");
  const auto objs = render({s});
  const auto& c = of_kind(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(env_named(c, "PORT")["value"], "8180");
  EXPECT_EQ(env_named(c, "PORT_HTTP")["value"], "8180");
  EXPECT_EQ(env_named(c, "PORT_METRICS_V2")["value"], "9190");
}

TEST(K8sRender, AnExposedIngressNameTakesNoNameAnotherIngressHas) {
  RenderOptions names;
  names.ingress_names = {"web", "web-expose", "shop"};
  names.exposing = {"web", "shop", "shop-expose"};
  EXPECT_EQ(exposed_ingress_name("api", names), "api");
  EXPECT_EQ(exposed_ingress_name("web", names), "web-expose-2");   // an Ingress resource has web-expose
  EXPECT_EQ(exposed_ingress_name("shop", names), "shop-expose-2");  // deployment shop-expose's Ingress has it
  EXPECT_EQ(exposed_ingress_name("shop-expose", names), "shop-expose");
}

TEST(K8sRender, AnIngressPathToADeploymentNotRenderedHereUsesItsPort) {
  auto ing = model::decode_ingress(Json::parse(R"j({"name":"shared","rules":[{"host":"shop.example.com",
      "paths":[{"path":"/","deployment":"front"},{"path":"/api","deployment":"back"}]}]})j"), {});
  ASSERT_TRUE(ing);
  auto front = deployment(R"j({"name":"front","source":"x","filename":"a.py","port":28202})j");
  RenderOptions options;
  options.first_ports = {{"front", 28202}, {"back", 28203}};
  const Json paths = of_kind(objects({front}, {*ing}, {}, options), "Ingress")["spec"]["rules"][0]["http"]["paths"];
  EXPECT_EQ(paths[0]["backend"]["service"]["port"]["number"], 28202);
  EXPECT_EQ(paths[1]["backend"]["service"]["port"]["number"], 28203);
}

TEST(K8sRender, ImagesPerRuntime) {
  EXPECT_EQ(image_for("python3"), "python:3.11-slim");
  EXPECT_EQ(image_for("node"), "node:20-slim");
  EXPECT_EQ(image_for("unknown"), "debian:12-slim");
}

TEST(K8sRender, CronJobsFitKubernetesLimits) {
  const std::string long_name(60, 'j');
  auto job = deployment(("{\"name\":\"" + long_name + "\",\"source\":\"x\",\"filename\":\"j.sh\"}").c_str());
  auto sunday = deployment(R"j({"name":"sun","source":"x","filename":"s.py","schedule":"0 9 * * 7"})j");
  auto objs = objects({job, sunday}, {}, {}, RenderOptions{"America/New_York"});
  const auto& long_job = objs[1];
  const auto name = long_job["metadata"]["name"].get<std::string>();
  EXPECT_LE(name.size(), 52U);
  EXPECT_EQ(name, cron_job_name(long_name));
  EXPECT_EQ(name.substr(0, 40), long_name.substr(0, 40));
  EXPECT_NE(cron_job_name(long_name), cron_job_name(long_name.substr(0, 59) + "k"));  // cut alike, named apart
  EXPECT_EQ(long_job["metadata"]["labels"]["prisn.io/deployment"], long_name);
  EXPECT_FALSE(long_job["spec"].contains("timeZone"));  // an on-demand job never fires by itself
  const auto trigger = long_job["metadata"]["annotations"]["prisn.io/trigger"].get<std::string>();
  EXPECT_LE(trigger.size() - trigger.rfind(' ') - 1, 63U);  // the Job it creates has a valid name
  EXPECT_EQ(objs[3]["spec"]["schedule"], "0 9 * * 0");
  EXPECT_EQ(objs[3]["spec"]["timeZone"], "America/New_York");
  EXPECT_EQ(cron_job_name("short"), "short");
}

// As prisn builds a process's environment: env replaces prisn's own variables, secrets replace env.
TEST(K8sRender, ALaterVariableReplacesAnEarlierOne) {
  auto s = deployment(R"j({"name":"e","source":"x","filename":"e.py","port":8080,
      "env":{"SEC":"plain"},"secrets":[{"secret":"s","env":"SEC"}]})j");
  s.secrets[0].key = "value";
  s.env["PORT"] = "9";  // as a deployment stored before env could not set PORT may have it
  const auto objs = render({s});
  const auto& c = of_kind(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0];
  std::size_t sec = 0, port = 0;
  for (const auto& e : c["env"]) {
    sec += e["name"] == "SEC";
    port += e["name"] == "PORT";
  }
  EXPECT_EQ(sec, 1U);
  EXPECT_EQ(port, 1U);
  EXPECT_TRUE(env_named(c, "SEC").contains("valueFrom"));
  EXPECT_EQ(env_named(c, "PORT")["value"], "9");
}

TEST(K8sRender, PortNamesCutAlikeStayUnique) {
  auto s = deployment(R"j({"name":"p","source":"x","filename":"p.py",
      "ports":[{"name":"metrics-cluster-1","port":9100},{"name":"metrics-cluster-2","port":9101}]})j");
  const auto objs = render({s});
  const auto& ports = of_kind(objs, "Service")["spec"]["ports"];
  EXPECT_EQ(ports[0]["name"], "metrics-cluster");
  EXPECT_EQ(ports[1]["name"], "port-1");
}

TEST(K8sRender, AScriptOverAConfigMapsLimitIsNotRenderable) {
  auto s = deployment(R"j({"name":"big","source":"x","filename":"b.py"})j");
  s.source.assign(1024 * 1024 + 1, 'x');
  EXPECT_NE(unrenderable(s).find("1 MiB"), std::string::npos);
}

TEST(K8sRender, ACronScheduleKubernetesWouldReadOtherwiseIsNotRenderable) {
  auto odd_mondays = deployment(R"j({"name":"oddmon","source":"x","filename":"c.py","schedule":"0 0 */2 * 1"})j");
  EXPECT_NE(unrenderable(odd_mondays).find(R"(its schedule "0 0 */2 * 1" on other days)"), std::string::npos)
      << unrenderable(odd_mondays);
  auto odd_days = deployment(R"j({"name":"odd","source":"x","filename":"c.py","schedule":"0 0 */2 * *"})j");
  EXPECT_EQ(unrenderable(odd_days), "");
}

}  // namespace
}  // namespace prisn::k8s

namespace prisn::k8s {
namespace {

TEST(K8sRender, ANamespaceOtherThanDefaultIsCreatedFirst) {
  auto edge = deployment(R"j({"name":"api","namespace":"edge","source":"x","filename":"a.py","port":8080})j");
  auto objs = render({edge});
  ASSERT_FALSE(objs.empty());
  EXPECT_EQ(objs[0]["kind"], "Namespace");
  EXPECT_EQ(objs[0]["apiVersion"], "v1");
  EXPECT_EQ(objs[0]["metadata"]["name"], "edge");
  EXPECT_EQ(std::count_if(objs.begin(), objs.end(), [](const Json& o) { return o["kind"] == "Namespace"; }), 1);
  auto plain = render({deployment(R"j({"name":"api","source":"x","filename":"a.py","port":8080})j")});
  EXPECT_NE(plain[0]["kind"], "Namespace");  // every cluster has "default"
}

}  // namespace
}  // namespace prisn::k8s
