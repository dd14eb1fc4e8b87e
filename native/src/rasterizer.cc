// CPU rasterizer for the simulator's cameras (N-API, no dependencies beyond node_api.h).
//
// Input: a packed Float64Array of geoms (GEOM_STRIDE doubles each, MuJoCo mjvGeom conventions:
// type, size[3], pos[3], mat[9] row-major world rotation, rgba[4], mesh id), an optional list of meshes
// (vertices Float64Array xyz..., faces Int32Array abc...), and a camera (pos[3], mat[9] whose columns are the
// camera's x/y/z axes in the world; the camera looks down -z with +y up, as MuJoCo's cameras do; fovy in
// degrees; width; height; supersampling factor).
// Output: a Buffer of height*width*3 uint8 (RGB, row 0 = top of the image).
//
// Determinism: every computation is double precision in a fixed order, the build disables fast-math and
// FMA contraction, and there is no threading, so the same input gives the same bytes on every run and machine
// with IEEE-754 doubles.
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int GEOM_STRIDE = 21;
enum GeomType { PLANE = 0, HFIELD = 1, SPHERE = 2, CAPSULE = 3, ELLIPSOID = 4, CYLINDER = 5, BOX = 6, MESH = 7 };

struct V3 {
  double x, y, z;
};
inline V3 add(V3 a, V3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline V3 sub(V3 a, V3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline V3 mul(V3 a, double s) { return {a.x * s, a.y * s, a.z * s}; }
inline double dot(V3 a, V3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline V3 cross(V3 a, V3 b) { return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x}; }
inline V3 normalize(V3 a) {
  double n = std::sqrt(dot(a, a));
  return n > 0 ? mul(a, 1.0 / n) : a;
}

// A triangle soup in geom-local coordinates.
struct Mesh {
  std::vector<V3> v;
  std::vector<int> f;
  void tri(V3 a, V3 b, V3 c) {
    int i = static_cast<int>(v.size());
    v.push_back(a), v.push_back(b), v.push_back(c);
    f.push_back(i), f.push_back(i + 1), f.push_back(i + 2);
  }
  void quad(V3 a, V3 b, V3 c, V3 d) { tri(a, b, c), tri(a, c, d); }
};

constexpr int SLICES = 16;  // around the axis
constexpr int STACKS = 8;   // pole to pole (even, so spheres have an equator ring)
const double PI = 3.14159265358979323846;

// Unit circle for the slices, computed once (trigonometry per frame dominated the render time).
// The polygon's radius is scaled so that its area equals the circle's (an inscribed 16-gon would lose
// 2.6% of the area and make round things look thinner than they are).
struct Circle {
  double c[SLICES + 1], s[SLICES + 1];
  Circle() {
    const double scale = std::sqrt(2 * PI / (SLICES * std::sin(2 * PI / SLICES)));
    for (int j = 0; j <= SLICES; ++j) c[j] = scale * std::cos(2 * PI * j / SLICES), s[j] = scale * std::sin(2 * PI * j / SLICES);
  }
};
const Circle& circle() {
  static const Circle k;
  return k;
}

// Ellipsoid band between polar angles th0..th1 (0 = +z pole), centred at z = zoff (capsule caps use bands).
void sphereBand(Mesh& m, double rx, double ry, double rz, double zoff, double th0, double th1, int stacks) {
  const Circle& k = circle();
  for (int i = 0; i < stacks; ++i) {
    double a0 = th0 + (th1 - th0) * i / stacks, a1 = th0 + (th1 - th0) * (i + 1) / stacks;
    double s0 = std::sin(a0), c0 = std::cos(a0), s1 = std::sin(a1), c1 = std::cos(a1);
    for (int j = 0; j < SLICES; ++j) {
      V3 p00{rx * s0 * k.c[j], ry * s0 * k.s[j], zoff + rz * c0}, p01{rx * s0 * k.c[j + 1], ry * s0 * k.s[j + 1], zoff + rz * c0};
      V3 p10{rx * s1 * k.c[j], ry * s1 * k.s[j], zoff + rz * c1}, p11{rx * s1 * k.c[j + 1], ry * s1 * k.s[j + 1], zoff + rz * c1};
      m.tri(p00, p10, p11);  // degenerate at the poles; the rasterizer skips zero-area triangles
      m.tri(p00, p11, p01);
    }
  }
}

void cylinderSide(Mesh& m, double r, double h) {
  const Circle& k = circle();
  for (int j = 0; j < SLICES; ++j) {
    V3 a{r * k.c[j], r * k.s[j], -h}, b{r * k.c[j + 1], r * k.s[j + 1], -h};
    V3 c{b.x, b.y, h}, d{a.x, a.y, h};
    m.quad(a, b, c, d);
  }
}

void disk(Mesh& m, double r, double z, bool up) {
  const Circle& k = circle();
  for (int j = 0; j < SLICES; ++j) {
    V3 c{0, 0, z}, a{r * k.c[j], r * k.s[j], z}, b{r * k.c[j + 1], r * k.s[j + 1], z};
    if (up) m.tri(c, a, b);
    else m.tri(c, b, a);
  }
}

void box(Mesh& m, double x, double y, double z) {
  V3 p[8];
  for (int i = 0; i < 8; ++i) p[i] = {(i & 1) ? x : -x, (i & 2) ? y : -y, (i & 4) ? z : -z};
  m.quad(p[0], p[2], p[3], p[1]);  // -z
  m.quad(p[4], p[5], p[7], p[6]);  // +z
  m.quad(p[0], p[1], p[5], p[4]);  // -y
  m.quad(p[2], p[6], p[7], p[3]);  // +y
  m.quad(p[0], p[4], p[6], p[2]);  // -x
  m.quad(p[1], p[3], p[7], p[5]);  // +x
}

// Build the local-frame triangles of one primitive (sizes follow MuJoCo: half-lengths and radii).
void buildPrimitive(Mesh& m, int type, const double* s) {
  switch (type) {
    case SPHERE: sphereBand(m, s[0], s[0], s[0], 0, 0, PI, STACKS); break;
    case ELLIPSOID: sphereBand(m, s[0], s[1], s[2], 0, 0, PI, STACKS); break;
    case CAPSULE:
      cylinderSide(m, s[0], s[1]);
      sphereBand(m, s[0], s[0], s[0], s[1], 0, PI / 2, STACKS / 2);
      sphereBand(m, s[0], s[0], s[0], -s[1], PI / 2, PI, STACKS / 2);
      break;
    case CYLINDER:
      cylinderSide(m, s[0], s[1]);
      disk(m, s[0], s[1], true);
      disk(m, s[0], -s[1], false);
      break;
    case BOX: box(m, s[0], s[1], s[2]); break;
    case PLANE: {
      // MuJoCo: a plane's size 0 means infinite; draw it as a large quad.
      double x = s[0] > 0 ? s[0] : 50.0, y = s[1] > 0 ? s[1] : 50.0;
      m.quad({-x, -y, 0}, {x, -y, 0}, {x, y, 0}, {-x, y, 0});
      break;
    }
    default: break;
  }
}

struct Camera {
  V3 pos, ax, ay, az;  // world axes of the camera frame
  double fovy;
  int w, h, ss;
};

struct Target {
  int W, H;
  std::vector<double> depth;  // inverse camera-space depth 1/(-z) (larger = nearer; 0 = empty)
  std::vector<double> rgb;
};

struct CamV {
  double x, y, z;  // camera frame
};

// Rasterize one camera-space triangle (already clipped to z < -near) with a flat colour.
void rasterTri(Target& t, const Camera& cam, double f, CamV a, CamV b, CamV c, const double col[3]) {
  const double W = t.W, H = t.H;
  auto proj = [&](CamV p, double& sx, double& sy, double& iz) {
    double d = -p.z;
    sx = W * 0.5 + (p.x / d) * f;
    sy = H * 0.5 - (p.y / d) * f;
    iz = 1.0 / d;
  };
  double x0, y0, z0, x1, y1, z1, x2, y2, z2;
  proj(a, x0, y0, z0), proj(b, x1, y1, z1), proj(c, x2, y2, z2);
  double area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0);
  if (area == 0 || !std::isfinite(area)) return;
  if (area < 0) {  // make winding consistent; both sides are drawn
    std::swap(x1, x2), std::swap(y1, y2), std::swap(z1, z2);
    area = -area;
  }
  double minx = std::fmin(x0, std::fmin(x1, x2)), maxx = std::fmax(x0, std::fmax(x1, x2));
  double miny = std::fmin(y0, std::fmin(y1, y2)), maxy = std::fmax(y0, std::fmax(y1, y2));
  int ix0 = std::max(0, static_cast<int>(std::floor(minx))), ix1 = std::min(t.W - 1, static_cast<int>(std::ceil(maxx)));
  int iy0 = std::max(0, static_cast<int>(std::floor(miny))), iy1 = std::min(t.H - 1, static_cast<int>(std::ceil(maxy)));
  if (ix0 > ix1 || iy0 > iy1) return;
  // A pixel centre exactly on a shared edge is covered by both triangles; the depth test (strict <,
  // fixed draw order) decides, so the result is still deterministic.
  // Edge function i at pixel centre (cx, cy): P_i(cy) - Q_i * cx (linear in cx along a row).
  const double ex[3] = {x2 - x1, x0 - x2, x1 - x0}, ey[3] = {y2 - y1, y0 - y2, y1 - y0};
  const double ax[3] = {x1, x2, x0}, ay[3] = {y1, y2, y0};
  for (int py = iy0; py <= iy1; ++py) {
    double cy = py + 0.5;
    // Conservative span of the row inside all three edges; the exact test below decides every pixel,
    // the span only skips pixels that are clearly outside (a one-pixel margin absorbs rounding).
    double lo = ix0, hi = ix1;
    bool empty = false;
    for (int e = 0; e < 3; ++e) {
      double P = ex[e] * (cy - ay[e]) + ey[e] * ax[e], Q = ey[e];
      if (Q > 0) hi = std::fmin(hi, P / Q - 0.5 + 1.0);
      else if (Q < 0) lo = std::fmax(lo, P / Q - 0.5 - 1.0);
      else if (P < 0) empty = true;
    }
    if (empty || lo > hi) continue;
    int sx0 = std::max(ix0, static_cast<int>(std::floor(lo))), sx1 = std::min(ix1, static_cast<int>(std::ceil(hi)));
    for (int px = sx0; px <= sx1; ++px) {
      double cx = px + 0.5;
      double w0 = (x2 - x1) * (cy - y1) - (y2 - y1) * (cx - x1);
      double w1 = (x0 - x2) * (cy - y2) - (y0 - y2) * (cx - x2);
      double w2 = (x1 - x0) * (cy - y0) - (y1 - y0) * (cx - x0);
      if (w0 < 0 || w1 < 0 || w2 < 0) continue;
      // Inverse depth is linear in screen space; nearer = larger, so no division per pixel.
      double iz = (w0 * z0 + w1 * z1 + w2 * z2) / area;
      size_t k = static_cast<size_t>(py) * t.W + px;
      if (iz > t.depth[k]) {
        t.depth[k] = iz;
        t.rgb[3 * k] = col[0], t.rgb[3 * k + 1] = col[1], t.rgb[3 * k + 2] = col[2];
      }
    }
  }
}

constexpr double NEAR = 0.01;

// Clip a camera-space triangle against the near plane and rasterize the pieces.
void drawTri(Target& t, const Camera& cam, double f, CamV a, CamV b, CamV c, const double col[3]) {
  CamV in[3] = {a, b, c}, out[4];
  int n = 0;
  for (int i = 0; i < 3; ++i) {
    CamV p = in[i], q = in[(i + 1) % 3];
    bool pin = p.z <= -NEAR, qin = q.z <= -NEAR;
    if (pin) out[n++] = p;
    if (pin != qin) {
      double s = (-NEAR - p.z) / (q.z - p.z);
      out[n++] = {p.x + (q.x - p.x) * s, p.y + (q.y - p.y) * s, -NEAR};
    }
  }
  if (n < 3) return;
  rasterTri(t, cam, f, out[0], out[1], out[2], col);
  if (n == 4) rasterTri(t, cam, f, out[0], out[2], out[3], col);
}

struct MeshIn {
  const double* v = nullptr;
  size_t nv = 0;
  const int32_t* f = nullptr;
  size_t nf = 0;
};

// Light: a headlight along the view direction plus a fixed key light from above, with ambient.
constexpr double AMBIENT = 0.35, HEAD = 0.35, KEY = 0.4;
const V3 KEY_DIR = {-0.3, 0.2, 0.93};  // direction towards the key light (world)

void drawGeom(Target& t, const Camera& cam, double f, const double* g, const std::vector<MeshIn>& meshes) {
  int type = static_cast<int>(g[0]);
  const double* size = g + 1;
  V3 pos{g[4], g[5], g[6]};
  const double* R = g + 7;  // row-major
  double rgba[4] = {g[16], g[17], g[18], g[19]};
  if (rgba[3] <= 0) return;
  static thread_local Mesh local;
  local.v.clear(), local.f.clear();
  const double* mv = nullptr;
  const int32_t* mf = nullptr;
  size_t nf = 0, nv = 0;
  if (type == MESH) {
    int id = static_cast<int>(g[20]);
    if (id < 0 || id >= static_cast<int>(meshes.size())) return;
    mv = meshes[id].v, nv = meshes[id].nv, mf = meshes[id].f, nf = meshes[id].nf;
  } else {
    buildPrimitive(local, type, size);
    mv = reinterpret_cast<const double*>(local.v.data()), nv = local.v.size();
    mf = local.f.data(), nf = local.f.size() / 3;
  }
  V3 keyDir = normalize(KEY_DIR);
  const bool convex = type == SPHERE || type == ELLIPSOID || type == CAPSULE || type == CYLINDER || type == BOX;
  for (size_t i = 0; i < nf; ++i) {
    V3 w[3];
    bool ok = true;
    for (int k = 0; k < 3; ++k) {
      int32_t vi = mf[3 * i + k];
      if (vi < 0 || static_cast<size_t>(vi) >= nv) { ok = false; break; }
      V3 l{mv[3 * vi], mv[3 * vi + 1], mv[3 * vi + 2]};
      w[k] = {pos.x + R[0] * l.x + R[1] * l.y + R[2] * l.z, pos.y + R[3] * l.x + R[4] * l.y + R[5] * l.z,
              pos.z + R[6] * l.x + R[7] * l.y + R[8] * l.z};
    }
    if (!ok) continue;
    V3 n = normalize(cross(sub(w[1], w[0]), sub(w[2], w[0])));
    V3 toCam = sub(cam.pos, w[0]);
    if (convex) {
      // Closed convex primitive: orient the normal outwards (away from the centre) and cull back faces.
      V3 centroid = mul(add(add(w[0], w[1]), w[2]), 1.0 / 3.0);
      if (dot(n, sub(centroid, pos)) < 0) n = mul(n, -1.0);
      if (dot(n, sub(cam.pos, centroid)) <= 0) continue;
    } else if (dot(n, toCam) < 0) {
      n = mul(n, -1.0);  // open surfaces (planes, meshes): two-sided lighting
    }
    double head = std::fmax(0.0, dot(n, normalize(toCam)));
    double key = std::fmax(0.0, dot(n, keyDir));
    double shade = AMBIENT + HEAD * head + KEY * key;
    double col[3] = {std::fmin(1.0, rgba[0] * shade), std::fmin(1.0, rgba[1] * shade), std::fmin(1.0, rgba[2] * shade)};
    CamV c[3];
    for (int k = 0; k < 3; ++k) {
      V3 d = sub(w[k], cam.pos);
      c[k] = {dot(d, cam.ax), dot(d, cam.ay), dot(d, cam.az)};
    }
    drawTri(t, cam, f, c[0], c[1], c[2], col);
  }
}

// ---- N-API glue ----

#define CHECK(expr)                                                      \
  do {                                                                   \
    if ((expr) != napi_ok) {                                             \
      napi_throw_error(env, "INTERNAL", "rasterizer: N-API call failed"); \
      return nullptr;                                                    \
    }                                                                    \
  } while (0)

bool getTyped(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok) return false;
  return type == want;
}

// render(geoms: Float64Array, camera: Float64Array[16], meshes: Array<[Float64Array, Int32Array]>, background: Float64Array[3])
napi_value Render(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 2) {
    napi_throw_type_error(env, "INVALID_INPUT", "render(geoms, camera[, meshes, background]) needs two arguments");
    return nullptr;
  }
  double* geoms;
  size_t glen;
  if (!getTyped(env, argv[0], napi_float64_array, reinterpret_cast<void**>(&geoms), &glen) || glen % GEOM_STRIDE != 0) {
    napi_throw_type_error(env, "INVALID_INPUT", "geoms must be a Float64Array with 21 values per geom");
    return nullptr;
  }
  double* camv;
  size_t clen;
  if (!getTyped(env, argv[1], napi_float64_array, reinterpret_cast<void**>(&camv), &clen) || clen != 16) {
    napi_throw_type_error(env, "INVALID_INPUT", "camera must be a Float64Array [pos3, mat9, fovy, width, height, supersample]");
    return nullptr;
  }
  std::vector<MeshIn> meshes;
  if (argc >= 3) {
    bool isArr = false;
    napi_is_array(env, argv[2], &isArr);
    if (isArr) {
      uint32_t n;
      CHECK(napi_get_array_length(env, argv[2], &n));
      for (uint32_t i = 0; i < n; ++i) {
        napi_value pair, va, fa;
        CHECK(napi_get_element(env, argv[2], i, &pair));
        CHECK(napi_get_element(env, pair, 0, &va));
        CHECK(napi_get_element(env, pair, 1, &fa));
        MeshIn m;
        void* p;
        size_t len;
        if (!getTyped(env, va, napi_float64_array, &p, &len) || len % 3) {
          napi_throw_type_error(env, "INVALID_INPUT", "mesh vertices must be a Float64Array of xyz triples");
          return nullptr;
        }
        m.v = static_cast<const double*>(p), m.nv = len / 3;
        if (!getTyped(env, fa, napi_int32_array, &p, &len) || len % 3) {
          napi_throw_type_error(env, "INVALID_INPUT", "mesh faces must be an Int32Array of index triples");
          return nullptr;
        }
        m.f = static_cast<const int32_t*>(p), m.nf = len / 3;
        meshes.push_back(m);
      }
    }
  }
  double bg[3] = {0.0, 0.0, 0.0};
  if (argc >= 4) {
    double* b;
    size_t blen;
    if (getTyped(env, argv[3], napi_float64_array, reinterpret_cast<void**>(&b), &blen) && blen == 3)
      bg[0] = b[0], bg[1] = b[1], bg[2] = b[2];
  }
  Camera cam;
  cam.pos = {camv[0], camv[1], camv[2]};
  // camv[3..11] row-major; columns are the camera axes.
  cam.ax = {camv[3], camv[6], camv[9]};
  cam.ay = {camv[4], camv[7], camv[10]};
  cam.az = {camv[5], camv[8], camv[11]};
  cam.fovy = camv[12];
  cam.w = static_cast<int>(camv[13]), cam.h = static_cast<int>(camv[14]), cam.ss = static_cast<int>(camv[15]);
  for (size_t i = 0; i < 16; ++i)
    if (!std::isfinite(camv[i])) {
      napi_throw_type_error(env, "NON_FINITE", "camera has a non-finite value");
      return nullptr;
    }
  if (cam.w < 1 || cam.h < 1 || cam.w > 8192 || cam.h > 8192 || cam.ss < 1 || cam.ss > 4 || !(cam.fovy > 0 && cam.fovy < 180)) {
    napi_throw_range_error(env, "INVALID_INPUT", "camera width/height must be 1..8192, supersample 1..4, fovy in (0, 180)");
    return nullptr;
  }
  Target t;
  t.W = cam.w * cam.ss, t.H = cam.h * cam.ss;
  t.depth.assign(static_cast<size_t>(t.W) * t.H, 0.0);
  t.rgb.assign(static_cast<size_t>(t.W) * t.H * 3, 0.0);
  for (size_t k = 0; k < static_cast<size_t>(t.W) * t.H; ++k) t.rgb[3 * k] = bg[0], t.rgb[3 * k + 1] = bg[1], t.rgb[3 * k + 2] = bg[2];
  double f = 0.5 * t.H / std::tan(0.5 * cam.fovy * PI / 180.0);  // focal length in pixels
  size_t ng = glen / GEOM_STRIDE;
  for (size_t i = 0; i < ng; ++i) {
    const double* g = geoms + i * GEOM_STRIDE;
    bool finite = true;
    for (int k = 0; k < GEOM_STRIDE; ++k) finite = finite && std::isfinite(g[k]);
    if (!finite) {
      napi_throw_type_error(env, "NON_FINITE", "a geom has a non-finite value");
      return nullptr;
    }
    drawGeom(t, cam, f, g, meshes);
  }
  // Box-filter the supersampled image down and quantize (round half up, fixed order).
  size_t outLen = static_cast<size_t>(cam.w) * cam.h * 3;
  void* outData;
  napi_value out;
  CHECK(napi_create_buffer(env, outLen, &outData, &out));
  uint8_t* o = static_cast<uint8_t*>(outData);
  double inv = 1.0 / (cam.ss * cam.ss);
  for (int y = 0; y < cam.h; ++y)
    for (int x = 0; x < cam.w; ++x)
      for (int c = 0; c < 3; ++c) {
        double s = 0;
        for (int sy = 0; sy < cam.ss; ++sy)
          for (int sx = 0; sx < cam.ss; ++sx) s += t.rgb[3 * ((static_cast<size_t>(y) * cam.ss + sy) * t.W + x * cam.ss + sx) + c];
        double v = std::floor(s * inv * 255.0 + 0.5);
        o[3 * (static_cast<size_t>(y) * cam.w + x) + c] = static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
      }
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn, ver;
  if (napi_create_function(env, "render", NAPI_AUTO_LENGTH, Render, nullptr, &fn) != napi_ok) return nullptr;
  napi_set_named_property(env, exports, "render", fn);
  napi_create_uint32(env, 1, &ver);
  napi_set_named_property(env, exports, "version", ver);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
