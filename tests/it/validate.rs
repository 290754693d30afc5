//! Stack validation: one fixture per class of error, each asserting the message, the
//! file:line:col and the hint. No AWS call is involved.

use bandup_infra::config::{load, Diagnostic, LoadOptions, Severity};
use bandup_infra::graph::builder;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every problem `validate` would report for a fixture stack.
fn problems(name: &str) -> Vec<Diagnostic> {
    problems_in(LoadOptions {
        root: fixtures(),
        env: None,
        stack: Some(fixtures().join(format!("invalid/{name}.yaml"))),
    })
}

fn problems_in(opts: LoadOptions) -> Vec<Diagnostic> {
    let registry = bandup_infra::aws::offline_registry();
    let (stack, mut diags) = load(&opts, &registry);
    if let Err(d) = builder::build(&stack) {
        diags.push(d);
    }
    diags.sorted().items
}

/// The only problem of a fixture, checked for position and message.
fn only(name: &str, at: &str, message: &str) -> Diagnostic {
    let all = problems(name);
    assert_eq!(all.len(), 1, "expected one problem, got {all:#?}");
    let d = all.into_iter().next().expect("one");
    assert_eq!(
        d.pos.to_string(),
        format!("invalid/{name}.yaml:{at}"),
        "{d}"
    );
    assert!(
        d.message.contains(message),
        "{:?} does not contain {message:?}",
        d.message
    );
    d
}

fn hint(d: &Diagnostic) -> &str {
    d.hint.as_deref().unwrap_or_default()
}

#[test]
fn yaml_syntax_errors_point_at_the_broken_spot() {
    let d = only(
        "yaml_syntax",
        "6:19",
        "YAML syntax error: unclosed bracket '['",
    );
    assert!(!hint(&d).is_empty());
}

#[test]
fn unknown_fields_suggest_the_right_name() {
    let d = only(
        "unknown_field",
        "6:7",
        "unknown field `cidr_blok` for resource type `aws_vpc`",
    );
    assert_eq!(hint(&d), "did you mean `cidr_block`?");
}

#[test]
fn wrong_types_say_what_was_expected() {
    only(
        "wrong_type",
        "7:29",
        "`enable_dns_hostnames`: expected a boolean (true or false), found a string",
    );
}

#[test]
fn missing_required_fields_are_named() {
    let d = only(
        "missing_required",
        "7:3",
        "missing required field `availability_zone` in resource `subnet` (aws_subnet)",
    );
    assert!(hint(&d).contains("eu-west-2a"));
}

#[test]
fn duplicate_names_point_at_both_definitions() {
    let d = only("duplicate_name", "7:3", "duplicate resource name `vpc`");
    assert_eq!(
        d.related.first().map(|(p, _)| p.to_string()),
        Some("invalid/duplicate_name.yaml:3:3".into())
    );
}

#[test]
fn dangling_references_suggest_the_resource_meant() {
    let d = only(
        "dangling_reference",
        "10:15",
        "reference to unknown resource `vcp`",
    );
    assert_eq!(hint(&d), "did you mean `vpc`?");
}

#[test]
fn references_to_unknown_attributes_list_the_real_ones() {
    let d = only(
        "unknown_attribute",
        "10:15",
        "`vpc` (aws_vpc) has no attribute `ids`",
    );
    assert!(hint(&d).contains("did you mean `id`?"));
}

#[test]
fn dependency_cycles_are_named() {
    let d = only("cycle", "7:3", "dependency cycle: ");
    assert!(
        d.message.contains("first -> second -> first")
            || d.message.contains("second -> first -> second"),
        "{}",
        d.message
    );
    assert_eq!(d.related.len(), 1);
}

#[test]
fn invalid_cidr_blocks_are_refused() {
    let d = only("invalid_cidr", "6:19", "invalid CIDR block `10.0.0.0/33`");
    assert!(hint(&d).contains("10.0.1.0/24"));
}

#[test]
fn subnets_must_lie_inside_their_vpc() {
    let d = only(
        "subnet_outside_vpc",
        "12:19",
        "subnet `subnet` (10.1.0.0/24) is outside its VPC `vpc` (10.0.0.0/16)",
    );
    assert_eq!(hint(&d), "choose a range inside 10.0.0.0/16");
}

#[test]
fn overlapping_subnets_are_reported_once() {
    let d = only(
        "overlapping_subnets",
        "18:19",
        "subnet `b` (10.0.1.0/24) overlaps subnet `a` (10.0.0.0/23)",
    );
    assert_eq!(d.related.len(), 1);
}

#[test]
fn unknown_resource_types_suggest_the_right_one() {
    let d = only("unknown_type", "4:11", "unknown resource type `aws_vcp`");
    assert_eq!(hint(&d), "did you mean `aws_vpc`?");
}

#[test]
fn every_problem_is_reported_at_once() {
    let all = problems("many_problems");
    let at: Vec<String> = all
        .iter()
        .map(|d| format!("{}:{}", d.pos.line, d.pos.col))
        .collect();
    assert_eq!(at, ["7:29", "9:11", "15:15", "16:7"], "{all:#?}");
}

#[test]
fn unknown_environments_list_the_known_ones() {
    let all = problems_in(LoadOptions {
        root: fixtures().join("envs"),
        env: Some("stagin".into()),
        stack: None,
    });
    assert_eq!(all.len(), 1);
    assert!(all[0].message.contains("unknown environment `stagin`"));
    assert_eq!(
        hint(&all[0]),
        "did you mean `staging`? environments: dev, staging"
    );
}

#[test]
fn environments_may_only_set_declared_parameters() {
    let all = problems_in(LoadOptions {
        root: fixtures().join("envs"),
        env: Some("staging".into()),
        stack: None,
    });
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].pos.to_string(), "environments/staging.yaml:5:3");
    assert_eq!(
        all[0].message,
        "unknown parameter `az`: the stack does not declare it"
    );
    assert_eq!(hint(&all[0]), "did you mean `azs`?");
}

#[test]
fn the_project_stack_is_valid_for_every_environment() {
    for env in ["dev", "prod"] {
        let all = problems_in(LoadOptions {
            root: crate::support::project_root(),
            env: Some(env.into()),
            stack: None,
        });
        assert!(all.is_empty(), "{env}: {all:#?}");
    }
}

#[test]
fn environments_differ_in_cidr_azs_and_nat_strategy() {
    let registry = bandup_infra::aws::offline_registry();
    let count = |env: &str, t: &str| {
        let (stack, _) =
            crate::support::load(&crate::support::project_root(), Some(env), &registry);
        stack.resources.iter().filter(|r| r.type_name == t).count()
    };
    assert_eq!(
        (count("dev", "aws_subnet"), count("prod", "aws_subnet")),
        (4, 6)
    );
    assert_eq!(
        (
            count("dev", "aws_nat_gateway"),
            count("prod", "aws_nat_gateway")
        ),
        (1, 3)
    );
}

#[test]
fn availability_zones_must_belong_to_the_environments_region() {
    let all = problems_in(LoadOptions {
        root: fixtures().join("region"),
        env: Some("dev".into()),
        stack: None,
    });
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].pos.to_string(), "stacks/bandup.yaml:11:26");
    assert!(all[0].message.contains(
        "availability zone `us-east-1a` of `subnet` is not in the environment's region `eu-west-2`"
    ));
    assert_eq!(hint(&all[0]), "use a zone of eu-west-2, such as eu-west-2a");
}

#[test]
fn diagnostics_render_with_the_line_underlined_and_the_hint() {
    let diags = bandup_infra::config::Diagnostics {
        items: problems("many_problems"),
        sources: vec![(
            "invalid/many_problems.yaml".into(),
            std::fs::read_to_string(fixtures().join("invalid/many_problems.yaml")).expect("read"),
        )],
    };
    let text = bandup_infra::ui::diagnostics::render(&diags, bandup_infra::ui::Style::plain());
    insta::assert_snapshot!("many_problems", text);
}

#[test]
fn duplicate_routes_and_rules_are_refused_before_aws_does() {
    let all = problems("duplicate_rules_and_routes");
    let got: Vec<(String, &str)> = all
        .iter()
        .map(|d| (d.pos.to_string(), d.message.as_str()))
        .collect();
    assert_eq!(got.len(), 2, "{all:#?}");
    assert_eq!(got[0].0, "invalid/duplicate_rules_and_routes.yaml:16:9");
    assert_eq!(got[0].1, "`rt` has two routes to 0.0.0.0/0");
    assert_eq!(got[1].0, "invalid/duplicate_rules_and_routes.yaml:23:9");
    assert!(
        got[1].1.starts_with("`sg` ingress has the same rule twice"),
        "{}",
        got[1].1
    );
}

#[test]
fn environment_files_are_checked_like_stacks() {
    let all = problems_in(LoadOptions {
        root: fixtures().join("env_problems"),
        env: Some("qa".into()),
        stack: None,
    });
    let got: Vec<(String, String, String)> = all
        .iter()
        .map(|d| {
            (
                d.pos.to_string(),
                d.message.clone(),
                d.hint.clone().unwrap_or_default(),
            )
        })
        .collect();
    let want = [
        (
            "environments/qa.yaml:1:14",
            "this file is environments/qa.yaml but says `environment: staging`",
            "write `environment: qa`",
        ),
        (
            "environments/qa.yaml:2:1",
            "unknown field `regoin` in the environment file",
            "did you mean `region`?",
        ),
        (
            "environments/qa.yaml:4:3",
            "override for unknown resource `vcp`",
            "did you mean `vpc`?",
        ),
        (
            "environments/qa.yaml:7:5",
            "unknown field `enable_dns_hostname` for resource type `aws_vpc`",
            "did you mean `enable_dns_hostnames`?",
        ),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn security_group_ports_must_be_tcp_or_udp_ports() {
    let d = only(
        "sg_port_out_of_range",
        "15:20",
        "a rule in `sg` ingress has to_port 80800, which is not a tcp port",
    );
    assert_eq!(hint(&d), "tcp ports run from 0 to 65535");
}

#[test]
fn security_group_port_ranges_must_not_run_backwards() {
    let d = only(
        "sg_ports_reversed",
        "12:11",
        "a rule in `sg` ingress has from_port 8090 above to_port 8080",
    );
    assert!(hint(&d).contains("both from 0 to 65535"), "{}", hint(&d));
    assert!(hint(&d).ends_with("did you mean from_port: 8080, to_port: 8090?"));
}

#[test]
fn icmp_rules_take_an_icmp_type_and_code() {
    let d = only(
        "sg_icmp_out_of_range",
        "13:40",
        "a rule in `sg` ingress has from_port 300, which is not an ICMP type",
    );
    assert!(
        hint(&d).starts_with("for icmp, from_port is the ICMP type and to_port the ICMP code, each from 0 to 255, or -1"),
        "{}",
        hint(&d)
    );
}

#[test]
fn vpc_blocks_larger_than_a_16_are_refused() {
    let d = only(
        "vpc_cidr_too_large",
        "6:19",
        "VPC `vpc` has cidr_block 10.0.0.0/8, larger than AWS allows: the prefix length must be /16 to /28",
    );
    assert_eq!(
        hint(&d),
        "use a block from /16 (65,536 addresses) to /28 (16 addresses), for example 10.0.0.0/16"
    );
}

#[test]
fn subnet_blocks_smaller_than_a_28_are_refused() {
    let d = only(
        "subnet_cidr_too_small",
        "12:19",
        "subnet `subnet` has cidr_block 10.0.0.0/30, smaller than AWS allows: the prefix length must be /16 to /28",
    );
    assert_eq!(
        hint(&d),
        "use a block from /16 (65,536 addresses) to /28 (16 addresses), for example 10.0.1.0/24"
    );
}

#[test]
fn environment_names_outside_the_rule_are_refused_before_any_file_is_read() {
    let registry = bandup_infra::aws::offline_registry();
    let opts = LoadOptions {
        root: fixtures().join("envs"),
        env: Some("../stacks/bandup".into()),
        stack: None,
    };
    let (_, diags) = load(&opts, &registry);
    assert!(diags.sources.is_empty(), "no file was read");
    assert_eq!(diags.items.len(), 1, "{:#?}", diags.items);
    let d = &diags.items[0];
    assert_eq!(d.pos.to_string(), "--env:1:1");
    assert_eq!(
        d.message,
        format!(
            "invalid environment: `../stacks/bandup` contains `.`: {}",
            bandup_infra::config::ENV_NAME_RULE
        )
    );
    assert_eq!(hint(d), "environments: dev, staging");
}

#[test]
fn the_environment_written_in_the_file_follows_the_name_rule() {
    let all = problems_in(LoadOptions {
        root: fixtures().join("env_name"),
        env: Some("qa".into()),
        stack: None,
    });
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].pos.to_string(), "environments/qa.yaml:1:14");
    assert!(
        all[0]
            .message
            .starts_with("invalid `environment`: `QA` contains `Q`: an environment name is 1 to 24 lowercase letters"),
        "{}",
        all[0].message
    );
    assert_eq!(hint(&all[0]), "write `environment: qa`");
}

#[test]
fn diagnostics_outside_any_file_render_without_a_snippet() {
    let registry = bandup_infra::aws::offline_registry();
    let opts = LoadOptions {
        root: fixtures().join("envs"),
        env: Some("Dev".into()),
        stack: None,
    };
    let (_, diags) = load(&opts, &registry);
    let text = bandup_infra::ui::diagnostics::render(&diags, bandup_infra::ui::Style::plain());
    assert!(
        text.contains("--env:1:1: invalid environment: `Dev` contains `D`"),
        "{text}"
    );
    assert!(text.contains("help: environments: dev, staging"), "{text}");
    assert!(!text.contains('╭'), "no snippet: {text}");
}

#[test]
fn a_wrong_typed_parameter_is_reported_once_not_at_every_use() {
    let d = only(
        "poisoned_parameter",
        "5:14",
        "parameter `zones`: expected a list, found a string",
    );
    assert_eq!(
        hint(&d),
        "parameter `zones` has type list: for example [eu-west-2a, eu-west-2b]"
    );
}

#[test]
fn files_over_the_size_limit_are_refused_before_parsing() {
    let limit = bandup_infra::config::yaml::limits::FILE_BYTES as usize;
    let mut yaml = String::from("stack: t\nresources:\n");
    let mut i = 0;
    while yaml.len() <= limit {
        yaml.push_str(&format!(
            "  vpc_{i}:\n    type: aws_vpc\n    properties:\n      cidr_block: 10.{}.0.0/16\n",
            i % 256
        ));
        i += 1;
    }
    let project = crate::support::Project::with_stack(&yaml);
    let registry = bandup_infra::aws::offline_registry();
    let (_, diags) = load(
        &LoadOptions {
            root: project.root().to_path_buf(),
            env: None,
            stack: None,
        },
        &registry,
    );
    assert_eq!(diags.items.len(), 1, "{:#?}", diags.items);
    let d = &diags.items[0];
    assert_eq!(d.pos.to_string(), "stacks/bandup.yaml:1:1");
    assert_eq!(
        d.message,
        format!(
            "size limit exceeded: the file is {} bytes; at most 4194304 bytes (4 MiB) are read",
            yaml.len()
        )
    );
    assert!(hint(d).contains("docs/stack-format.md"), "{}", hint(d));
}

#[test]
fn deep_nesting_is_reported_as_a_size_limit() {
    let d = only(
        "deep_nesting",
        "38:65",
        "size limit exceeded: lists and mappings are nested 33 deep; at most 32 levels are read",
    );
    assert!(hint(&d).contains("docs/stack-format.md"), "{}", hint(&d));
}

#[test]
fn alias_bombs_are_reported_as_a_size_limit() {
    let d = only(
        "alias_bomb",
        "9:33",
        "size limit exceeded: aliases expand to more than 250000 parser events",
    );
    assert!(
        hint(&d).contains("instead of nesting aliases"),
        "{}",
        hint(&d)
    );
}

#[test]
fn a_stack_of_2000_resources_is_within_the_limits() {
    let mut yaml = String::from(
        "stack: big\nresources:\n  vpc:\n    type: aws_vpc\n    properties:\n      cidr_block: 10.0.0.0/16\n",
    );
    for i in 0..200 {
        yaml.push_str(&format!(
            "  subnet_{i}:\n    type: aws_subnet\n    description: subnet {i} of 200\n    properties:\n      vpc_id: ${{vpc.id}}\n      availability_zone: eu-west-2a\n      cidr_block: 10.0.{i}.0/24\n"
        ));
    }
    for i in 0..1799 {
        // Every group reuses the first one's HTTPS rule (one anchor, 1,798 aliases) and
        // admits the group before it: a chain 1,799 deep, no cycle.
        let https = match i {
            0 => "&https { protocol: tcp, from_port: 443, to_port: 443, cidr: 10.0.0.0/16 }",
            _ => "*https",
        };
        let source = match i {
            0 => "cidr: 10.0.0.0/16".to_string(),
            _ => format!("security_group_id: \"${{sg_{}.id}}\"", i - 1),
        };
        yaml.push_str(&format!(
            "  sg_{i}:\n    type: aws_security_group\n    properties:\n      vpc_id: ${{vpc.id}}\n      description: group {i}\n      ingress:\n        - {https}\n        - {{ protocol: tcp, from_port: 8080, to_port: 8080, {source} }}\n"
        ));
    }
    let project = crate::support::Project::with_stack(&yaml);
    let all = problems_in(LoadOptions {
        root: project.root().to_path_buf(),
        env: None,
        stack: None,
    });
    let first: Vec<String> = all.iter().take(3).map(|d| d.to_string()).collect();
    assert!(all.is_empty(), "{} problems, first: {first:#?}", all.len());
}

/// (position, message, hint, related position) of each problem.
fn described(all: &[Diagnostic]) -> Vec<(String, String, String, String)> {
    all.iter()
        .map(|d| {
            (
                d.pos.to_string(),
                d.message.clone(),
                hint(d).to_string(),
                d.related
                    .iter()
                    .map(|(p, m)| format!("{p} {m}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
        .collect()
}

fn duplicate(at: &str, key: &str, first: &str) -> (String, String, String, String) {
    (
        at.to_string(),
        format!("duplicate key `{key}`: a YAML mapping may hold each key once"),
        format!("keep one `{key}`: remove the other, or rename it if another key was meant"),
        format!("{first} first written here"),
    )
}

#[test]
fn duplicate_keys_are_refused_in_every_mapping_of_a_stack() {
    let f = "invalid/duplicate_keys.yaml";
    let at = |lc: &str| format!("{f}:{lc}");
    assert_eq!(
        described(&problems("duplicate_keys")),
        [
            duplicate(&at("4:3"), "port", &at("3:3")),
            duplicate(&at("7:3"), "team", &at("6:3")),
            duplicate(&at("13:7"), "cidr_block", &at("12:7")),
            duplicate(&at("19:77"), "cidr", &at("19:58")),
            duplicate(&at("20:1"), "stack", &at("1:1")),
        ]
    );
}

#[test]
fn duplicate_keys_are_refused_in_environment_files() {
    let all = problems_in(LoadOptions {
        root: fixtures().join("env_duplicates"),
        env: Some("qa".into()),
        stack: None,
    });
    let f = "environments/qa.yaml";
    assert_eq!(
        described(&all),
        [
            duplicate(
                &format!("{f}:5:5"),
                "enable_dns_hostnames",
                &format!("{f}:4:5")
            ),
            duplicate(&format!("{f}:6:1"), "region", &format!("{f}:1:1")),
        ]
    );
}

#[test]
fn a_key_overriding_a_merged_one_is_not_a_duplicate() {
    let project = crate::support::Project::with_stack(
        "stack: t\nresources:\n  vpc:\n    type: aws_vpc\n    properties: &vpc\n      cidr_block: 10.0.0.0/16\n      enable_dns_hostnames: true\n  other_vpc:\n    type: aws_vpc\n    properties:\n      <<: *vpc\n      cidr_block: 10.1.0.0/16\n",
    );
    let all = problems_in(LoadOptions {
        root: project.root().to_path_buf(),
        env: None,
        stack: None,
    });
    assert!(all.is_empty(), "{all:#?}");
}

#[test]
fn a_database_port_open_to_the_internet_is_a_warning() {
    let d = only(
        "database_open_to_internet",
        "14:66",
        "database or cache port open to the internet: `db_sg` admits 0.0.0.0/0 on port 5432, which includes 5432 (PostgreSQL)",
    );
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(
        hint(&d),
        "admit only the clients' security group instead of a CIDR, e.g. `security_group_id: ${app_sg.id}`"
    );
}

#[test]
fn all_traffic_open_to_the_internet_warns_about_every_data_port() {
    let d = only(
        "all_traffic_open_to_internet",
        "13:17",
        "`sg` admits 0.0.0.0/0 on every port, which include 1433 (SQL Server), 1521 (Oracle), 3306 (MySQL/Aurora), 5432 (PostgreSQL), 6379 (Redis), 11211 (Memcached), 27017 (MongoDB)",
    );
    assert_eq!(d.severity, Severity::Warning);
}

#[test]
fn warnings_are_counted_apart_from_errors() {
    let mut items = problems("database_open_to_internet");
    let text = |items: &[Diagnostic]| {
        let diags = bandup_infra::config::Diagnostics {
            items: items.to_vec(),
            sources: Vec::new(),
        };
        bandup_infra::ui::diagnostics::render(&diags, bandup_infra::ui::Style::plain())
    };
    let warned = text(&items);
    assert!(warned.contains("⚠"), "{warned}");
    assert!(warned.ends_with("\n1 warning found.\n"), "{warned}");
    items.extend(problems("invalid_cidr"));
    let both = text(&items);
    assert!(
        both.ends_with("\n1 problem and 1 warning found; nothing was sent to AWS.\n"),
        "{both}"
    );
}

#[test]
fn environments_whose_vpc_ranges_overlap_get_a_warning() {
    let all = problems_in(LoadOptions {
        root: fixtures().join("env_overlap"),
        env: Some("qa".into()),
        stack: None,
    });
    assert_eq!(all.len(), 1, "{all:#?}");
    let d = &all[0];
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(d.pos.to_string(), "environments/qa.yaml:3:13");
    assert_eq!(
        d.message,
        "VPC `vpc` (10.1.0.0/16) overlaps VPC `vpc` of environment `uat` (10.1.128.0/17)"
    );
    assert!(hint(d).starts_with("environments whose ranges overlap can never be peered"));
    assert_eq!(
        d.related,
        [(
            bandup_infra::config::Pos::new("environments/uat.yaml", 4, 13),
            "environment `uat` uses 10.1.128.0/17 here".to_string()
        )]
    );
}

#[test]
fn the_staging_example_is_valid_for_the_project_stack_without_warnings() {
    let project = crate::support::Project::copy();
    std::fs::copy(
        crate::support::project_root().join("examples/environments/staging.yaml"),
        project.root().join("environments/staging.yaml"),
    )
    .expect("copy the example");
    let all = problems_in(LoadOptions {
        root: project.root().to_path_buf(),
        env: Some("staging".into()),
        stack: None,
    });
    assert!(all.is_empty(), "{all:#?}");
}

#[test]
fn the_minimal_example_is_a_valid_project_without_warnings() {
    let all = problems_in(LoadOptions {
        root: crate::support::project_root().join("examples/minimal"),
        env: Some("sandbox".into()),
        stack: None,
    });
    assert!(all.is_empty(), "{all:#?}");
}

#[test]
fn outputs_are_loaded_with_their_references_kept() {
    use bandup_infra::model::Value;
    let registry = bandup_infra::aws::offline_registry();
    let opts = LoadOptions {
        root: fixtures(),
        env: None,
        stack: Some(fixtures().join("outputs/stack.yaml")),
    };
    let (stack, diags) = load(&opts, &registry);
    assert!(diags.is_empty(), "{:#?}", diags.items);
    let names: Vec<&str> = stack.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "vpc_id",
            "subnet_ids",
            "first_subnet",
            "endpoint",
            "port",
            "secret"
        ]
    );
    let out = |name: &str| {
        stack
            .outputs
            .iter()
            .find(|o| o.name == name)
            .expect("declared")
    };
    assert_eq!(out("vpc_id").description.as_deref(), Some("The VPC"));
    assert_eq!(out("vpc_id").pos.to_string(), "outputs/stack.yaml:19:3");
    assert!(matches!(&out("subnet_ids").value, Value::Ref(r) if r.splat && r.targets.len() == 2));
    assert!(
        matches!(&out("first_subnet").value, Value::Ref(r) if r.targets[0].as_str() == "subnet[eu-west-2a]")
    );
    assert!(matches!(out("endpoint").value, Value::Template(_)));
    assert_eq!(out("port").value, Value::Int(8080));
    assert!(out("secret").sensitive);
    assert!(!out("vpc_id").sensitive);
    // Outputs add no dependency: the graph is that of the resources alone.
    assert!(builder::build(&stack).is_ok());
}

#[test]
fn outputs_referring_to_an_undeclared_resource_suggest_the_one_meant() {
    let d = only(
        "output_bad_reference",
        "9:12",
        "reference to unknown resource `vcp`",
    );
    assert_eq!(hint(&d), "did you mean `vpc`?");
}

#[test]
fn outputs_referring_to_an_unknown_attribute_list_the_real_ones() {
    let d = only(
        "output_unknown_attribute",
        "9:12",
        "`vpc` (aws_vpc) has no attribute `cidr_blok`",
    );
    assert!(hint(&d).starts_with("did you mean `cidr_block`?"), "{d}");
}

#[test]
fn unknown_keys_of_an_output_suggest_the_right_one() {
    let d = only(
        "output_unknown_key",
        "10:5",
        "unknown field `sensitiv` in output `vpc_id`",
    );
    assert_eq!(hint(&d), "did you mean `sensitive`?");
}

#[test]
fn every_problem_of_the_outputs_is_reported_at_once() {
    let all: Vec<String> = problems("output_problems")
        .iter()
        .map(ToString::to_string)
        .collect();
    let expected = [
        "invalid/output_problems.yaml:19:3: missing required field `value` in output `no_value`",
        "invalid/output_problems.yaml:23:16: `sensitive` must be true or false",
        "invalid/output_problems.yaml:25:12: `subnet` has `for_each`: say which instance",
        "invalid/output_problems.yaml:27:12: `each` is only available in a resource with `for_each`",
        "invalid/output_problems.yaml:29:12: unknown parameter `app_prot` (hint: did you mean `param.app_port`?)",
    ];
    assert_eq!(all.len(), expected.len(), "{all:#?}");
    for (got, want) in all.iter().zip(expected) {
        assert!(got.starts_with(want), "{got}\n does not start with\n{want}");
    }
}

#[test]
fn timeouts_are_create_update_delete_durations() {
    let all = problems("bad_timeouts");
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].pos.to_string(), "invalid/bad_timeouts.yaml:5:30");
    assert_eq!(all[0].message, "unknown timeout `delte`");
    assert_eq!(hint(&all[0]), "did you mean `delete`?");
    assert_eq!(all[1].pos.to_string(), "invalid/bad_timeouts.yaml:5:50");
    assert_eq!(all[1].message, "`update` is not a duration");
    assert!(hint(&all[1]).contains("45m"), "{}", hint(&all[1]));
}

#[test]
fn protect_may_come_from_a_boolean_parameter_only() {
    let d = only(
        "protect_not_boolean",
        "7:14",
        "`protect` must be true or false",
    );
    assert!(hint(&d).contains("${param.protect_data}"), "{}", hint(&d));
}

#[test]
fn rds_instance_identifiers_must_fit_rds_rules() {
    let d = only(
        "db_identifier_too_long",
        "3:3",
        "would be the RDS identifier `t-default-the-primary-postgresql-database-of-the-platform-for-every-environment`: RDS wants at most 63",
    );
    assert_eq!(hint(&d), "give the resource a shorter name");
}

#[test]
fn rds_storage_autoscaling_must_go_above_the_allocated_storage() {
    let d = only(
        "db_storage_autoscaling_below_allocated",
        "9:30",
        "max_allocated_storage (50) must be above allocated_storage (100)",
    );
    assert!(hint(&d).contains("omit it"), "{}", hint(&d));
}

#[test]
fn enabled_must_be_a_boolean() {
    let d = only(
        "enabled_not_boolean",
        "5:14",
        "`enabled` must be true or false",
    );
    assert!(hint(&d).contains("${param.create_zone}"), "{}", hint(&d));
}

#[test]
fn a_reference_to_a_resource_not_made_in_this_environment_says_how_to_give_the_value() {
    let d = only(
        "reference_to_disabled",
        "13:15",
        "`vpc` is not made in this environment (`enabled` is false), so `vpc.id` has no value",
    );
    assert!(hint(&d).contains("overrides:"), "{}", hint(&d));
}

#[test]
fn a_disabled_resource_has_no_instance_and_an_override_stands_in_for_it() {
    let registry = bandup_infra::aws::offline_registry();
    let load_env = |env: &str| {
        load(
            &LoadOptions {
                root: fixtures().join("enabled"),
                env: Some(env.into()),
                stack: None,
            },
            &registry,
        )
    };
    let (shared, diags) = load_env("shared");
    assert!(diags.is_empty(), "{diags:#?}");
    let names: Vec<&str> = shared.resources.iter().map(|r| r.addr.as_str()).collect();
    assert_eq!(names, ["igw"]);
    assert!(shared.resources[0].deps.is_empty());
    let (own, diags) = load_env("own");
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(own.resources.len(), 2);
}

#[test]
fn an_execution_role_reads_exactly_the_secrets_its_containers_name() {
    let all = problems("execution_role_secrets");
    assert_eq!(all.len(), 2, "{all:#?}");
    let missing = all
        .iter()
        .find(|d| d.severity == Severity::Error)
        .expect("an error");
    assert_eq!(
        missing.pos.to_string(),
        "invalid/execution_role_secrets.yaml:29:20"
    );
    assert!(
        missing.message.contains(
            "its execution role `agent` may not read the secret of `TOKEN` (${token.arn})"
        ),
        "{}",
        missing.message
    );
    assert!(hint(missing).contains("secretsmanager:GetSecretValue on ${token.arn}"));
    let extra = all
        .iter()
        .find(|d| d.severity == Severity::Warning)
        .expect("a warning");
    assert_eq!(
        extra.pos.to_string(),
        "invalid/execution_role_secrets.yaml:16:11"
    );
    assert!(extra
        .message
        .contains("may read the secret ${api_key.arn}, which no container it starts names"));
}

#[test]
fn role_policies_that_reach_outside_the_stack_are_warned_about() {
    let all = problems("role_reaches_outside_stack");
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(all.iter().all(|d| d.severity == Severity::Warning));
    assert!(all
        .iter()
        .all(|d| d.pos.to_string() == "invalid/role_reaches_outside_stack.yaml:13:9"));
    assert!(all.iter().any(|d| d.message
        == "`worker` policy `work` names `arn:aws:secretsmanager:eu-west-2:123456789012:secret:someone-else`, which is not a resource of this stack"));
    let star = all
        .iter()
        .find(|d| d.message.contains("every resource"))
        .expect("the star grant");
    assert_eq!(
        star.message,
        "`worker` policy `work` grants s3:GetObject on every resource (\"*\")"
    );
    assert!(hint(star).contains("name this stack's resources"));
}

#[test]
fn a_container_secret_must_be_one_the_stack_declares() {
    let d = only(
        "undeclared_secret",
        "13:20",
        "the secret of `TOKEN` (arn:aws:secretsmanager:eu-west-2:123456789012:secret:token-AbCdEf) is not one this stack declares",
    );
    assert!(hint(&d).contains("declare it as an aws_secretsmanager_secret"));
}

#[test]
fn a_queue_must_stay_invisible_six_times_as_long_as_its_worker_may_run() {
    let d = only(
        "queue_visibility_below_worker_timeout",
        "6:27",
        "queue `jobs` has visibility_timeout 120 s, but its worker `worker` (through `feed`) may run for 30 s",
    );
    assert!(hint(&d).contains("set visibility_timeout to 180 or more"));
}
