/* SPDX-License-Identifier: Apache-2.0 */
/* How `mpbs-run status` shows the instances it found (status_cmd.c): a
 * table, JSON, or Prometheus' text exposition format. Each instance is the
 * object its state file holds (status_file.h), with the "uptime_s" of the
 * instance and of each running role added. */
#ifndef MPBS_STATUS_RENDER_H
#define MPBS_STATUS_RENDER_H

#include <stdio.h>

#include <jansson.h>

void status_render_table(FILE *out, const json_t *instances);
/* one instance: that object; otherwise an array of them */
int status_render_json(FILE *out, const json_t *instances, int one);
void status_render_prometheus(FILE *out, const json_t *instances);

#endif
