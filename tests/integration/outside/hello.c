/* An outside program built against an installed postprof (see install_test.sh). */
#include <stdio.h>
#include <postprof/postprof.h>

static int work(int n)
{
    PP_SCOPE("outside.work");
    int s = 0;
    for (int i = 0; i < n; i++)
        s += i % 7;
    return s;
}

int main(void)
{
    int s = 0;
    for (int i = 0; i < 5; i++)
        s += work(1000);
    pp_snapshot *snap;
    if (pp_snapshot_take(&snap) != PP_OK)
        return 1;
    const pp_site_stats *st = pp_snapshot_find(snap, "outside.work");
    printf("version=%s count=%llu sum=%d\n", pp_version(),
           st ? (unsigned long long)st->count : 0ull, s);
    int ok = st && st->count == 5;
    pp_snapshot_free(snap);
    return ok ? 0 : 1;
}
