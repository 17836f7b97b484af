/* group_hub_auth.c: the group hub's password work, on a thread of its own so that routing never
 * waits for it: PBKDF2-HMAC-SHA256 with a 16-byte random salt per password, compared in
 * constant time. Passwords are wiped as soon as they are hashed. */
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "protocol/group_hub.h"

static bool auth_kdf(const uint8_t *pw, size_t len, const uint8_t *salt, int iterations,
                     uint8_t *out)
{
    static const uint8_t empty[1] = {0};
    return PKCS5_PBKDF2_HMAC((const char *)(len ? pw : empty), (int)len, salt, GH_SALT_LEN,
                             iterations, EVP_sha256(), GH_HASH_LEN, out) == 1;
}

static bool auth_make_secret(const uint8_t *pw, size_t len, int iterations, gh_secret *out)
{
    return RAND_bytes(out->salt, GH_SALT_LEN) == 1 &&
           auth_kdf(pw, len, out->salt, iterations, out->hash);
}

static void auth_work(gh_auth *a)
{
    if (a->op == MS_GW_CREATE) {
        a->ok = auth_make_secret(a->pw, a->pw_len, a->iterations, &a->secret) &&
                auth_make_secret(a->master_pw, a->master_pw_len, a->iterations, &a->master_secret);
    } else {
        uint8_t hash[GH_HASH_LEN];
        a->ok = auth_kdf(a->pw, a->pw_len, a->secret.salt, a->iterations, hash) &&
                CRYPTO_memcmp(hash, a->secret.hash, GH_HASH_LEN) == 0;
        OPENSSL_cleanse(hash, sizeof hash);
    }
    OPENSSL_cleanse(a->pw, sizeof a->pw);
    OPENSSL_cleanse(a->master_pw, sizeof a->master_pw);
    a->pw_len = a->master_pw_len = 0;
}

static void *auth_main(void *arg)
{
    gh_hub *hub = arg;
    pthread_mutex_lock(&hub->auth_mtx);
    for (;;) {
        while (!hub->auth_stop && hub->auth_head == NULL)
            pthread_cond_wait(&hub->auth_cv, &hub->auth_mtx);
        if (hub->auth_stop)
            break;
        gh_auth *a = hub->auth_head;
        hub->auth_head = a->next;
        if (hub->auth_head == NULL)
            hub->auth_tail = NULL;
        pthread_mutex_unlock(&hub->auth_mtx);
        auth_work(a);
        a->job.kind = GH_JOB_AUTH;
        a->job.auth = a;
        gh_post(hub, &a->job);
        pthread_mutex_lock(&hub->auth_mtx);
    }
    pthread_mutex_unlock(&hub->auth_mtx);
    return NULL;
}

int gh_auth_start(gh_hub *hub)
{
    if (pthread_create(&hub->auth_thread, NULL, auth_main, hub) != 0)
        return MSOCK_ENOMEM;
    hub->auth_running = true;
    return 0;
}

void gh_auth_stop(gh_hub *hub)
{
    pthread_mutex_lock(&hub->auth_mtx);
    hub->auth_stop = true;
    pthread_cond_broadcast(&hub->auth_cv);
    gh_auth *left = hub->auth_head;
    hub->auth_head = hub->auth_tail = NULL;
    pthread_mutex_unlock(&hub->auth_mtx);
    if (hub->auth_running) {
        pthread_join(hub->auth_thread, NULL);
        hub->auth_running = false;
    }
    while (left) {
        gh_auth *next = left->next;
        gh_auth_free(left);
        left = next;
    }
}

void gh_auth_submit(gh_hub *hub, gh_auth *a)
{
    a->next = NULL;
    pthread_mutex_lock(&hub->auth_mtx);
    if (hub->auth_stop) {
        pthread_mutex_unlock(&hub->auth_mtx);
        gh_auth_free(a);
        return;
    }
    if (hub->auth_tail)
        hub->auth_tail->next = a;
    else
        hub->auth_head = a;
    hub->auth_tail = a;
    pthread_cond_signal(&hub->auth_cv);
    pthread_mutex_unlock(&hub->auth_mtx);
}

void gh_auth_free(gh_auth *a)
{
    if (a == NULL)
        return;
    OPENSSL_cleanse(a, sizeof *a);
    free(a);
}
