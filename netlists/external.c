/* A user's flat array netlist (e.g. from a layout extractor) in place of
 * the generated array. Convention: ports wl0..wl15, bl0..bl15, sl; cell
 * (i,j)'s threshold shift is a voltage source VFG_<i>_<j> from the word-line
 * side to the gate; cells may use model nfg (added when the file has no
 * `.model nfg`). The first line is a title; analyses, .end and .control
 * blocks are dropped; VFG values are replaced by the programmed dVT. */
#include "nl_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    unsigned char vfg[FG_CELLS];
    unsigned char wl[FG_ROWS], bl[FG_COLS], sl, has_model;
} ext_seen;

static const char *const dropped[] = {".end", ".tran", ".op", ".dc", ".ac",
                                      ".meas", ".print", ".plot", ".save",
                                      ".options", ".option", ".title", NULL};

static int is_dropped(const char *line)
{
    for (int k = 0; dropped[k]; k++) {
        size_t n = strlen(dropped[k]);
        if (!strncasecmp(line, dropped[k], n) &&
            (line[n] == '\0' || isspace((unsigned char)line[n])))
            return 1;
    }
    return 0;
}

static void note_node(ext_seen *s, const char *tok)
{
    int k;
    char rest;
    if (sscanf(tok, "wl%d%c", &k, &rest) == 1 && k >= 0 && k < FG_ROWS)
        s->wl[k] = 1;
    else if (sscanf(tok, "bl%d%c", &k, &rest) == 1 && k >= 0 && k < FG_COLS)
        s->bl[k] = 1;
    else if (!strcmp(tok, "sl"))
        s->sl = 1;
}

/* Handles one element line; VFG lines are rewritten with their dVT. */
static void ext_line(nl_sb *b, ext_seen *s, char *line, const double *dvt)
{
    char low[1024];
    size_t n = strlen(line) < sizeof low - 1 ? strlen(line) : sizeof low - 1;
    for (size_t k = 0; k < n; k++)
        low[k] = (char)tolower((unsigned char)line[k]);
    low[n] = '\0';
    if (!strncmp(low, ".model", 6) && strstr(low, " nfg"))
        s->has_model = 1;
    int i, j;
    char a[128], c[128];
    if (sscanf(low, "vfg_%d_%d %127s %127s", &i, &j, a, c) == 4 && i >= 0 &&
        i < FG_ROWS && j >= 0 && j < FG_COLS) {
        s->vfg[i * FG_COLS + j] = 1;
        if (b)
            nl_sb_printf(b, "VFG_%d_%d %s %s DC %.9g\n", i, j, a, c, dvt[i * FG_COLS + j]);
        note_node(s, a);
        return;
    }
    if (low[0] != '.' && low[0] != '+')
        for (char *save = NULL, *t = strtok_r(low, " \t()", &save); t;
             t = strtok_r(NULL, " \t()", &save))
            note_node(s, t);
    if (b)
        nl_sb_printf(b, "%s\n", line);
}

static fg_status ext_missing(const char *path, const ext_seen *s)
{
    for (int i = 0; i < FG_ROWS; i++)
        if (!s->wl[i])
            return fg_error(FG_ERR_PARSE, "%s: no port wl%d", path, i);
    for (int j = 0; j < FG_COLS; j++)
        if (!s->bl[j])
            return fg_error(FG_ERR_PARSE, "%s: no port bl%d", path, j);
    if (!s->sl)
        return fg_error(FG_ERR_PARSE, "%s: no port sl", path);
    for (int k = 0; k < FG_CELLS; k++)
        if (!s->vfg[k])
            return fg_error(FG_ERR_PARSE, "%s: no source VFG_%d_%d", path,
                            k / FG_COLS, k % FG_COLS);
    return FG_OK;
}

static fg_status ext_parse(const char *path, nl_sb *b, const double *dvt)
{
    char *text;
    fg_status st = fg_file_read(path, &text, NULL);
    if (st != FG_OK)
        return st;
    ext_seen s = {0};
    int in_control = 0, lineno = 0;
    if (b)
        nl_sb_printf(b, "* array netlist %s\n", path);
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        line[strcspn(line, "\r")] = '\0';
        if (lineno++ == 0 || line[0] == '*' || line[0] == '\0')
            continue;
        if (!strncasecmp(line, ".control", 8) || !strncasecmp(line, ".endc", 5)) {
            in_control = !strncasecmp(line, ".control", 8);
            continue;
        }
        if (!in_control && !is_dropped(line))
            ext_line(b, &s, line, dvt);
    }
    free(text);
    if (b && !s.has_model)
        nl_sb_printf(b, "%s\n", nl_model_card());
    return ext_missing(path, &s);
}

fg_status nl_array_netlist_check(const char *path)
{
    return ext_parse(path, NULL, NULL);
}

fg_status nl_external_array(nl_sb *b, const char *path, const double *dvt)
{
    return ext_parse(path, b, dvt);
}
