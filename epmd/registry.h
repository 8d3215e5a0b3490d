/*
 * The node registry: registered (active) nodes, newest first, and the
 * FIFO of unregistered names kept so a returning name gets a new creation.
 */
#ifndef EPMD_REGISTRY_H
#define EPMD_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "epmd_wire.h"

struct registry;
struct registry_node;

/*
 * Create a registry that remembers up to max_unreg unregistered names (OTP
 * keeps one more before it recycles the oldest). now supplies the time
 * that seeds creations; NULL means time(NULL).
 */
struct registry *registry_new(size_t max_unreg, time_t (*now)(void));
/* Free the registry and every node in it. */
void registry_free(struct registry *r);

/*
 * Register a node; the name and extra are copied. owner is the caller's
 * handle for the registering connection and fd its descriptor (shown by
 * DUMP). Returns NULL if the name is already active.
 */
struct registry_node *registry_register(struct registry *r,
                                        const struct epmd_node_info *info,
                                        int fd, void *owner);
/* Move an active node to the unregistered list. */
void registry_unregister(struct registry *r, struct registry_node *n);
/* Find an active node by name; NULL if none. */
struct registry_node *registry_lookup(struct registry *r, const uint8_t *name,
                                      size_t name_len);

/* Number of active and of unregistered nodes. */
size_t registry_count(const struct registry *r);
size_t registry_unreg_count(const struct registry *r);

/* Iterate active nodes, newest first. */
struct registry_node *registry_first(struct registry *r);
/* Iterate unregistered nodes, oldest first. */
struct registry_node *registry_first_unreg(struct registry *r);
struct registry_node *registry_next(struct registry_node *n);

/* A node's registered data; pointers stay valid while the node does. */
void registry_info(const struct registry_node *n, struct epmd_node_info *out);
/* The creation sent to the node: the 32-bit counter for a highest version
 * of 6 or more, else counter % 3 + 1 (OTP's rules). */
uint32_t registry_creation(const struct registry_node *n);
void *registry_owner(const struct registry_node *n);
int registry_fd(const struct registry_node *n);

#endif
