/* SPDX-License-Identifier: Apache-2.0 */
/* Short names of the role sets, for the two tables a reviewer reads row by
 * row (runner/audit/probe.c, runner/audit/surface.c) and nowhere else. */
#ifndef MPBS_PROBE_ROLES_H
#define MPBS_PROBE_ROLES_H

#include "probe.h"

#define IM PROBE_ROLE_INTERMEDIARY
#define AS PROBE_ROLE_ASSOCIATION
#define PV PROBE_ROLE_PROVIDERS
#define PVP PROBE_ROLE_PROVIDER
#define PVX PROBE_ROLE_PROVIDER_EXEC
#define BR PROBE_ROLE_BRIDGE
#define NOT_PVX (IM | AS | PVP)
#define ALL PROBE_ROLE_ALL
/* Every role, a host part's bridge included. */
#define ALL_BR (ALL | BR)

#endif
