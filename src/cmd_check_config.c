#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "cmd_table.h"
#include "config_doc.h"
#include "http_tls.h"
#include "kafka_acls.h"
#include "kafka_check.h"
#include "kafka_conf.h"
#include "kafka_producer.h"
#include "metrics.h"
#include "pb.h"
#include "timefmt.h"

static const char usage[] =
    "Usage: portout-bridge [-c FILE] check-config [--example|--reference|--metrics|--commands]\n"
    "       portout-bridge [-c FILE] check-config --acls PRINCIPAL [--mode "
    "publish|index|replicas]\n"
    "       portout-bridge [-c FILE] check-config --kafka\n"
    "\n"
    "Validates the configuration as run would (the file, ${VAR} references,\n"
    "secrets files, the webhook public keys, the Telnyx API key when polling,\n"
    "the checkpoint directory, kafka.properties against librdkafka) and prints\n"
    "the effective values with secrets and URL credentials redacted. Exit 0 if\n"
    "valid, 78 if not.\n"
    "\n"
    "  --example    print the commented example configuration instead\n"
    "  --reference  print the option reference (Markdown, for docs/operations.md)\n"
    "  --metrics    print the metrics reference (Markdown, for docs/operations.md)\n"
    "  --commands   print the table of commands (Markdown, for README.md)\n"
    "  --acls P     print the kafka-acls.sh commands that grant principal P (e.g.\n"
    "               User:bridge) what this configuration needs, or what --mode needs\n"
    "  --kafka      also connect to Kafka as configured and check each topic and\n"
    "               group it needs (exists, partitions, this principal's rights);\n"
    "               exit 77 on a missing right or topic, 69 if Kafka does not answer\n";

static void warn_stderr(void *ctx, const char *text)
{
        (void)ctx;
        fprintf(stderr, "check-config: warning: %s\n", text);
}

int pb_cmd_check_config(const pb_globals_t *g, int argc, char **argv)
{
        if (pb_cmd_wants_help(argc, argv, usage))
                return PB_EXIT_OK;
        int example = 0, mode = -1, kafka = 0;
        const char *acls = NULL;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--kafka") == 0) {
                        kafka = 1;
                } else if (strcmp(argv[i], "--acls") == 0 && i + 1 < argc) {
                        acls = argv[++i];
                } else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
                        const char *m = argv[++i];
                        mode = strcmp(m, "publish") == 0    ? PB_ACL_PUBLISH
                               : strcmp(m, "replicas") == 0 ? PB_ACL_REPLICAS
                               : strcmp(m, "index") == 0    ? PB_ACL_INDEX
                                                            : -2;
                        if (mode == -2) {
                                fprintf(stderr, "check-config: unknown mode %s\n%s", m, usage);
                                return PB_EXIT_USAGE;
                        }
                } else if (strcmp(argv[i], "--example") == 0) {
                        example = 1;
                } else if (strcmp(argv[i], "--reference") == 0) {
                        pb_config_print_reference(stdout);
                        return PB_EXIT_OK;
                } else if (strcmp(argv[i], "--commands") == 0) {
                        pb_commands_markdown(stdout);
                        return PB_EXIT_OK;
                } else if (strcmp(argv[i], "--metrics") == 0) {
                        pb_metrics_print_reference(stdout);
                        return PB_EXIT_OK;
                } else {
                        fprintf(stderr, "check-config: unknown argument %s\n%s", argv[i], usage);
                        return PB_EXIT_USAGE;
                }
        }
        if (example) {
                pb_config_print_example(stdout);
                return PB_EXIT_OK;
        }
        pb_config_t *cfg = pb_cmd_load_config(g);
        if (!cfg)
                return PB_EXIT_CONFIG;
        if (acls) {
                pb_kafka_acls_print(cfg, mode >= 0 ? (pb_acl_mode_t)mode : pb_kafka_acl_mode(cfg),
                                    acls, stdout);
                pb_config_free(cfg);
                return PB_EXIT_OK;
        }
        char err[PB_ERRSZ];
        if (pb_cmd_preflight(cfg, warn_stderr, NULL, err, sizeof(err)) ||
            pb_kafka_conf_check(cfg, err, sizeof(err))) {
                fprintf(stderr, PB_NAME ": configuration error: %s\n", err);
                pb_config_free(cfg);
                return PB_EXIT_CONFIG;
        }
        pb_config_print(cfg, stdout);
        pb_kafka_conf_print(cfg, stdout);
        if (cfg->webhook_enabled && cfg->webhook_tls_cert_file && *cfg->webhook_tls_cert_file) {
                pb_tls_info_t ti;
                if (pb_tls_check(cfg->webhook_tls_cert_file, cfg->webhook_tls_key_file, &ti, err,
                                 sizeof(err)) == 0) {
                        char exp[40];
                        pb_time_format_us(ti.not_after * 1000000, exp, sizeof(exp));
                        long days = (long)((ti.not_after - pb_now_ms() / 1000) / 86400);
                        printf("# webhook TLS: %s; SANs %s; serial %s; %u certificate(s); expires "
                               "%s (%ld days)%s\n",
                               ti.subject, ti.sans[0] ? ti.sans : "none", ti.serial, ti.chain, exp,
                               days, days < 14 ? " -- renew it" : "");
                }
        }
        fprintf(stdout, "# configuration OK\n");
        int rc = PB_EXIT_OK;
        if (kafka) {
                fflush(stdout);
                rc = pb_kafka_check(cfg, stdout, err, sizeof(err));
                if (rc)
                        fprintf(stderr,
                                "check-config: Kafka is not ready for this configuration: %s\n",
                                err);
        }
        pb_config_free(cfg);
        return rc;
}
