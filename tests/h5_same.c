/* h5_same A.h5 B.h5: exit 0 when every dataset and every attribute (of the
 * root group and of each dataset) of A is in B with the same type, shape
 * and bytes, and B has no others; else one line per difference, exit 1.
 * Bit for bit: NaN payloads and signed zeros count. Exit 2: unreadable. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    hid_t other;   /* the file compared against */
    const char *where;
    int diffs, count;
} cmp_ctx;

/* Raw bytes of an attribute or dataset (type t, n elements) from id. */
static void *raw_read(hid_t id, int is_attr, hid_t t, size_t n)
{
    size_t sz = H5Tget_size(t) * (n ? n : 1);
    void *buf = calloc(1, sz);
    herr_t rc = buf ? (is_attr ? H5Aread(id, t, buf) : H5Dread(id, t, H5S_ALL, H5S_ALL,
                                                            H5P_DEFAULT, buf))
                    : -1;
    if (rc < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static size_t space_count(hid_t sp, int *rank, hsize_t *dims)
{
    *rank = H5Sget_simple_extent_ndims(sp);
    H5Sget_simple_extent_dims(sp, dims, NULL);
    size_t n = 1;
    for (int k = 0; k < *rank; k++)
        n *= dims[k];
    return n;
}

/* Compares object a and b (attributes when is_attr) by type, shape, bytes. */
static int same_object(hid_t a, hid_t b, int is_attr, const char *name)
{
    hid_t ta = is_attr ? H5Aget_type(a) : H5Dget_type(a);
    hid_t tb = is_attr ? H5Aget_type(b) : H5Dget_type(b);
    hid_t sa = is_attr ? H5Aget_space(a) : H5Dget_space(a);
    hid_t sb = is_attr ? H5Aget_space(b) : H5Dget_space(b);
    int ra, rb, same = 0;
    hsize_t da[8] = {0}, db[8] = {0};
    size_t na = space_count(sa, &ra, da), nb = space_count(sb, &rb, db);
    if (H5Tequal(ta, tb) <= 0 || ra != rb || memcmp(da, db, sizeof da) || na != nb)
        fprintf(stderr, "h5_same: %s: type or shape differs\n", name);
    else if (H5Tis_variable_str(ta) > 0)
        fprintf(stderr, "h5_same: %s: variable-length string not compared\n", name);
    else {
        void *ba = raw_read(a, is_attr, ta, na), *bb = raw_read(b, is_attr, tb, nb);
        size_t sz = H5Tget_size(ta) * (na ? na : 1);
        if (!ba || !bb)
            fprintf(stderr, "h5_same: %s: cannot read\n", name);
        else if (memcmp(ba, bb, sz) != 0)
            fprintf(stderr, "h5_same: %s: values differ\n", name);
        else
            same = 1;
        free(ba);
        free(bb);
    }
    H5Tclose(ta);
    H5Tclose(tb);
    H5Sclose(sa);
    H5Sclose(sb);
    return same;
}

static herr_t attr_visit(hid_t loc, const char *name, const H5A_info_t *info, void *ud)
{
    cmp_ctx *c = ud;
    char full[512];
    snprintf(full, sizeof full, "%s@%s", c->where, name);
    c->count++;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t b = H5Aexists(c->other, name) > 0 ? H5Aopen(c->other, name, H5P_DEFAULT) : -1;
    if (b < 0) {
        fprintf(stderr, "h5_same: %s: missing in the second file\n", full);
        c->diffs++;
    } else if (!same_object(a, b, 1, full))
        c->diffs++;
    if (b >= 0)
        H5Aclose(b);
    H5Aclose(a);
    return 0;
}

/* Attributes of a against those of b, and how many b has. */
static int attrs_same(hid_t a, hid_t b, const char *where)
{
    cmp_ctx c = {.other = b, .where = where};
    hsize_t idx = 0;
    H5Aiterate2(a, H5_INDEX_NAME, H5_ITER_INC, &idx, attr_visit, &c);
    H5O_info_t ib;
    H5Oget_info(b, &ib);
    if ((hsize_t)c.count != ib.num_attrs) {
        fprintf(stderr, "h5_same: %s: %d attributes against %llu\n", where, c.count,
                (unsigned long long)ib.num_attrs);
        c.diffs++;
    }
    return c.diffs;
}

static herr_t link_visit(hid_t g, const char *name, const H5L_info_t *info, void *ud)
{
    cmp_ctx *c = ud;
    c->count++;
    if (H5Lexists(c->other, name, H5P_DEFAULT) <= 0) {
        fprintf(stderr, "h5_same: /%s: missing in the second file\n", name);
        c->diffs++;
        return 0;
    }
    hid_t a = H5Dopen2(g, name, H5P_DEFAULT), b = H5Dopen2(c->other, name, H5P_DEFAULT);
    char where[300];
    snprintf(where, sizeof where, "/%s", name);
    if (a < 0 || b < 0) {
        fprintf(stderr, "h5_same: %s: not a dataset\n", where);
        c->diffs++;
    } else {
        c->diffs += !same_object(a, b, 0, where);
        c->diffs += attrs_same(a, b, where);
    }
    if (a >= 0)
        H5Dclose(a);
    if (b >= 0)
        H5Dclose(b);
    return 0;
}

static int links_count(hid_t g)
{
    H5G_info_t gi;
    return H5Gget_info(g, &gi) < 0 ? -1 : (int)gi.nlinks;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: h5_same A.h5 B.h5\n");
        return 2;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fa = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t fb = H5Fopen(argv[2], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (fa < 0 || fb < 0) {
        fprintf(stderr, "h5_same: cannot open %s\n", fa < 0 ? argv[1] : argv[2]);
        return 2;
    }
    hid_t ga = H5Gopen2(fa, "/", H5P_DEFAULT), gb = H5Gopen2(fb, "/", H5P_DEFAULT);
    cmp_ctx c = {.other = gb, .where = "/"};
    hsize_t idx = 0;
    H5Literate(ga, H5_INDEX_NAME, H5_ITER_INC, &idx, link_visit, &c);
    int diffs = c.diffs + attrs_same(ga, gb, "/");
    if (c.count != links_count(gb)) {
        fprintf(stderr, "h5_same: %d datasets against %d\n", c.count, links_count(gb));
        diffs++;
    }
    if (diffs == 0)
        printf("h5_same: %d datasets and their attributes equal bit for bit\n", c.count);
    H5Gclose(ga);
    H5Gclose(gb);
    H5Fclose(fa);
    H5Fclose(fb);
    return diffs ? 1 : 0;
}
