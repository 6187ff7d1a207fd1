"""Render prepared frames in Blender (run by render.py: blender -b -P blender_render.py -- WORKDIR).

WORKDIR holds scene.json and verts.npy (frames x vertices x 3); PNG frames are written to
WORKDIR/frames/. All motion and ground truth are computed outside Blender; this only draws.
"""

import json
import sys
import time
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix


def material(name, color, roughness=0.6, sss=0.0):
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    if sss:
        bsdf.inputs["Subsurface"].default_value = sss
        bsdf.inputs["Subsurface Color"].default_value = (*color, 1.0)
    return mat


def add_box(name, center, size, color):
    bpy.ops.mesh.primitive_cube_add(size=1, location=center)
    obj = bpy.context.active_object
    obj.name = name
    obj.scale = size
    obj.data.materials.append(material(name, color, 0.8))
    return obj


def build_scene(scene_data, rest):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    sc = bpy.context.scene
    engine = scene_data.get("engine", "CYCLES")
    sc.render.engine = engine
    sc.render.use_persistent_data = True  # keep the static scene's BVH and shaders between frames
    if engine == "BLENDER_EEVEE":
        sc.eevee.taa_render_samples = scene_data["samples"]
        sc.eevee.use_gtao = True
        sc.eevee.use_soft_shadows = False
        sc.eevee.shadow_cube_size = "1024"
        sc.eevee.shadow_cascade_size = "2048"
    sc.cycles.device = "CPU"
    sc.cycles.samples = scene_data["samples"]
    sc.cycles.use_denoising = False
    sc.cycles.max_bounces = 2
    sc.cycles.diffuse_bounces = 1
    sc.cycles.glossy_bounces = 1
    sc.cycles.transparent_max_bounces = 1
    sc.cycles.caustics_reflective = False
    sc.cycles.caustics_refractive = False
    sc.cycles.pixel_filter_width = 1.2
    sc.render.resolution_x = scene_data["width"]
    sc.render.resolution_y = scene_data["height"]
    sc.render.resolution_percentage = 100
    sc.render.image_settings.file_format = "PNG"
    sc.render.image_settings.color_mode = "RGB"
    sc.view_settings.view_transform = "Filmic"
    colors = scene_data["colors"]

    world = bpy.data.worlds.new("world")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs[0].default_value = (0.55, 0.55, 0.58, 1)
    world.node_tree.nodes["Background"].inputs[1].default_value = 0.35
    sc.world = world

    mesh = bpy.data.meshes.new("body")
    mesh.from_pydata(rest.tolist(), [], scene_data["faces"])
    body = bpy.data.objects.new("body", mesh)
    sc.collection.objects.link(body)
    for poly in mesh.polygons:
        poly.use_smooth = True
    mats = [material("skin", colors["skin"], 0.5), material("shirt", colors["shirt"], 0.8),
            material("shorts", colors["shorts"], 0.8), material("shoes", (0.9, 0.9, 0.9), 0.5)]
    for m in mats:
        mesh.materials.append(m)
    region = np.asarray(scene_data["region"])
    face_region = [int(np.bincount(region[f]).argmax()) for f in scene_data["faces"]]
    mesh.polygons.foreach_set("material_index", face_region)
    sub = body.modifiers.new("smooth", "SUBSURF")
    sub.levels = sub.render_levels = scene_data.get("subdivision", 0)

    add_box("floor", (0, 0, -0.05), (12, 12, 0.1), colors["floor"])
    add_box("wall", (0, 3.5, 1.5), (12, 0.1, 6), colors["background"])
    add_box("wall2", (-3.5, 0, 1.5), (0.1, 12, 6), colors["background"])
    for box in scene_data["boxes"]:
        add_box(box["name"], box["center"], box["size"], box["color"])

    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.data.energy = 2.0
    sun.rotation_euler = (0.6, 0.3, 0.8)
    sc.collection.objects.link(sun)
    area = bpy.data.objects.new("area", bpy.data.lights.new("area", "AREA"))
    area.data.energy = 150
    area.data.size = 3
    area.location = (0.3, -1.0, 2.8)
    sc.collection.objects.link(area)

    cam_data = scene_data["camera"]
    cam = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    cam.data.lens = cam_data["focal_mm"]
    cam.data.sensor_width = cam_data["sensor_width_mm"]
    cam.data.sensor_fit = "HORIZONTAL"
    rot = Matrix(cam_data["rotation"])
    cam.matrix_world = Matrix.Translation(cam_data["location"]) @ rot.to_4x4()
    sc.collection.objects.link(cam)
    sc.camera = cam

    band = None
    if scene_data["bands"]:
        curve = bpy.data.curves.new("band", "CURVE")
        curve.dimensions = "3D"
        curve.bevel_depth = 0.012
        spline = curve.splines.new("POLY")
        spline.points.add(len(scene_data["bands"][0]) - 1)
        spline.use_cyclic_u = True
        band = bpy.data.objects.new("band", curve)
        curve.materials.append(material("band", (0.75, 0.1, 0.15), 0.5))
        sc.collection.objects.link(band)
    bar = None
    if scene_data.get("bars"):  # a bar held over the hips (loaded variants)
        curve = bpy.data.curves.new("bar", "CURVE")
        curve.dimensions = "3D"
        curve.bevel_depth = 0.016
        curve.use_fill_caps = True
        spline = curve.splines.new("POLY")
        spline.points.add(1)
        bar = bpy.data.objects.new("bar", curve)
        curve.materials.append(material("bar", (0.12, 0.12, 0.13), 0.3))
        sc.collection.objects.link(bar)
    return body, band, bar


def main():
    work = Path(sys.argv[sys.argv.index("--") + 1])
    scene_data = json.loads((work / "scene.json").read_text())
    verts = np.load(work / "verts.npy", mmap_mode="r")
    body, band, bar = build_scene(scene_data, np.asarray(verts[0]))
    out = work / "frames"
    out.mkdir(exist_ok=True)
    start = time.time()
    n = len(verts)
    first = int(sys.argv[sys.argv.index("--") + 2]) if len(sys.argv) > sys.argv.index("--") + 2 else 0
    step = int(sys.argv[sys.argv.index("--") + 3]) if len(sys.argv) > sys.argv.index("--") + 3 else 1
    for i in range(first, n, step):
        body.data.vertices.foreach_set("co", np.ascontiguousarray(verts[i], dtype=np.float32).ravel())
        body.data.update()
        if band is not None:
            pts = band.data.splines[0].points
            for p, xyz in zip(pts, scene_data["bands"][i], strict=True):
                p.co = (*xyz, 1.0)
        if bar is not None:
            for p, xyz in zip(bar.data.splines[0].points, scene_data["bars"][i], strict=True):
                p.co = (*xyz, 1.0)
        bpy.context.scene.render.filepath = str(out / f"{i:05d}.png")
        bpy.ops.render.render(write_still=True)
        done = (i - first) // step + 1
        print(f"SYNTH frame {i + 1}/{n} {(time.time() - start) / done:.2f} s/frame", flush=True)


main()
