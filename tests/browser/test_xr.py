"""WebXR under IWER (Meta Quest 3 emulation): VR select, teleport, snap turn, panel, captions, hands; AR placement."""

from __future__ import annotations

import pytest

from tests.browser.conftest import (
    load_sem_room,
    nearest_artifact,
    quaternion_looking,
    viewer_state,
    wait_frames,
)

pytestmark = pytest.mark.browser

# IWER's default headset pose; the viewer puts the base space's origin where the desktop camera stood.
HEAD_LOCAL = (0.0, 1.6, 0.0)


def world_to_local(page, point):
    """A world point in the device's (base reference space) coordinates, using the viewer's current origin."""
    return page.evaluate("""(p) => {
        const o = __viewer.xrOrigin();            // column-major 4x4: world pose of the base space origin
        const x = p[0] - o[12], y = p[1] - o[13], z = p[2] - o[14];
        // inverse rotation = transpose of the upper 3x3
        return [o[0] * x + o[1] * y + o[2] * z, o[4] * x + o[5] * y + o[6] * z, o[8] * x + o[9] * y + o[10] * z];
    }""", list(point))


def aim_right_controller(page, local_target, grip=(0.25, 1.35, -0.25)):
    direction = tuple(t - g for t, g in zip(local_target, grip, strict=True))
    page.evaluate("""([p, q]) => {
        const c = __xrDevice.controllers.right;
        c.position.set(...p); c.quaternion.set(...q);
    }""", [list(grip), list(quaternion_looking(direction))])
    wait_frames(page, "xrFrames", 3)


def pull_trigger(page):
    page.evaluate("__xrDevice.controllers.right.updateButtonValue('trigger', 1)")
    wait_frames(page, "xrFrames", 2)
    page.evaluate("__xrDevice.controllers.right.updateButtonValue('trigger', 0)")
    wait_frames(page, "xrFrames", 3)


@pytest.fixture(scope="module")
def vr_page(browser, exhibit_url):
    context = browser.new_context(viewport={"width": 900, "height": 600})
    from tests.browser.conftest import IWER_SETUP, NODE_MODULES, PageLog

    context.add_init_script(path=str(NODE_MODULES / "iwer/build/iwer.min.js"))
    context.add_init_script(script=IWER_SETUP)
    page = context.new_page()
    page.log = PageLog(page)
    page.goto(exhibit_url)
    page.wait_for_function("window.__viewer && window.__viewer.ready", timeout=60000)
    yield page
    context.close()


def test_vr_session_starts_from_a_click(vr_page):
    page = vr_page
    page.wait_for_function("document.getElementById('VRButton').dataset.i18n === 'enterVr'")
    page.click("#VRButton")
    page.wait_for_function("__viewer.xrFrames >= 5", timeout=30000)
    assert viewer_state(page, "mode")["mode"] == "immersive-vr"
    head = viewer_state(page, "camera")["camera"]["position"]
    start = page.evaluate("__viewer.manifest.start.position")
    assert abs(head[0] - start[0]) < 1e-3 and abs(head[2] - start[2]) < 1e-3, "VR starts where the visitor stood"
    # Quest controllers get their real models, vendored into the site (no CDN).
    page.wait_for_function("__viewer.xr.controllerModels === 2", timeout=30000)


def test_controller_select_on_an_artifact_opens_its_panel(vr_page):
    page = vr_page
    artifact = nearest_artifact(page, "a.kind === 'model'")
    low, high = artifact["bounds"]["min"], artifact["bounds"]["max"]
    centre = [(a + b) / 2 for a, b in zip(low, high, strict=True)]
    aim_right_controller(page, world_to_local(page, centre))
    pull_trigger(page)
    state = viewer_state(page, "selectedArtifact", "openPanel", "xr")
    assert state["selectedArtifact"] == artifact["id"], state["xr"]
    assert state["openPanel"] == "object"
    assert state["xr"]["panelVisible"] is True


def test_laser_selects_an_annotation_hotspot(vr_page):
    page = vr_page
    artifact = nearest_artifact(page, "a.annotations && a.annotations.length")
    note = artifact["annotations"][0]
    aim_right_controller(page, world_to_local(page, note["position"]))
    pull_trigger(page)
    state = viewer_state(page, "selectedArtifact", "selectedAnnotation", "xr")
    assert (state["selectedArtifact"], state["selectedAnnotation"]) == (artifact["id"], note["key"]), state["xr"]
    assert state["xr"]["panelVisible"] is True


def test_vr_captions_mirror_the_audio_guide(vr_page):
    page = vr_page
    artifact = nearest_artifact(page, "a.audio && Object.keys(a.audio).length")
    assert artifact, "the example needs an artifact with an audio guide"
    page.evaluate("(id) => __viewer.selectArtifact(id)", artifact["id"])
    assert viewer_state(page, "xr")["xr"]["panelVisible"] is True
    page.evaluate("document.querySelector('#panel audio').play()")
    page.wait_for_function("__viewer.xr.caption && __viewer.xr.caption.length > 0", timeout=15000)
    assert page.evaluate("__viewer.xr.caption") == page.evaluate("__viewer.caption")
    page.evaluate("document.querySelector('#panel audio').pause()")


def test_teleport_moves_the_viewer(vr_page):
    page = vr_page
    before = viewer_state(page, "camera")["camera"]["position"]
    floor_point = [before[0] + 1.5, 0.0, before[2] - 0.5]
    aim_right_controller(page, world_to_local(page, floor_point))
    pull_trigger(page)
    state = viewer_state(page, "camera", "xr")
    assert state["xr"]["teleports"] == 1, state["xr"]
    after = state["camera"]["position"]
    assert abs(after[0] - floor_point[0]) < 0.05 and abs(after[2] - floor_point[2]) < 0.05, (before, after)
    assert abs(after[1] - before[1]) < 1e-3


def test_thumbstick_snap_turns(vr_page):
    page = vr_page
    before = viewer_state(page, "camera")["camera"]
    page.evaluate("__xrDevice.controllers.right.updateAxes('thumbstick', 1, 0)")
    wait_frames(page, "xrFrames", 3)
    page.evaluate("__xrDevice.controllers.right.updateAxes('thumbstick', 0, 0)")
    wait_frames(page, "xrFrames", 3)
    after = viewer_state(page, "camera", "xr")
    assert after["xr"]["snapTurns"] == 1
    q0, q1 = before["quaternion"], after["camera"]["quaternion"]
    dot = abs(sum(a * b for a, b in zip(q0, q1, strict=True)))
    import math

    assert abs(math.degrees(2 * math.acos(min(1.0, dot))) - 30) < 1.0, (q0, q1)
    position_change = [a - b for a, b in zip(after["camera"]["position"], before["position"], strict=True)]
    assert max(abs(c) for c in position_change) < 1e-3, "a snap turn turns in place"


def test_hand_input_appears(vr_page):
    page = vr_page
    page.evaluate("__xrDevice.primaryInputMode = 'hand'")
    wait_frames(page, "xrFrames", 5)
    kinds = viewer_state(page, "xr")["xr"]["inputKinds"]
    assert any(kind.endswith(":hand") for kind in kinds), kinds
    page.evaluate("__xrDevice.primaryInputMode = 'controller'")
    wait_frames(page, "xrFrames", 2)


def test_vr_session_ends_cleanly(vr_page):
    page = vr_page
    # IWER's own overlay covers the page during a session, so the exit button is clicked from script.
    page.evaluate("document.getElementById('VRButton').click()")
    page.wait_for_function("__viewer.mode === 'desktop'")
    assert page.evaluate("__viewer.errors") == []
    assert page.log.lines == []


def test_ar_places_the_chosen_model_by_hit_test(open_page, exhibit_url):
    page = open_page(exhibit_url, xr=True, sem=True)
    load_sem_room(page)
    subject = nearest_artifact(page, "a.kind === 'model'")["id"]
    page.select_option("#ar-subject", f"artifact:{subject}")
    page.wait_for_function("document.getElementById('ARButton').dataset.i18n === 'startAr'")
    page.click("#ARButton")
    page.wait_for_function("__viewer.mode === 'immersive-ar' && __viewer.xrFrames > 3", timeout=30000)
    # Look down at the synthetic room's floor so the viewer-space hit-test ray meets it.
    page.evaluate("__xrDevice.position.set(0, 1.5, 0); __xrDevice.quaternion.set(-0.5, 0, 0, 0.866)")
    page.wait_for_function("__viewer.ar.hitTests > 3", timeout=20000)
    pull_trigger(page)
    state = viewer_state(page, "ar")["ar"]
    assert state["placed"] == 1 and state["subject"] == f"artifact:{subject}", state
    assert state["position"][1] < 1.0, "placed on a surface below the eyes"
    assert state["scale"] == 1, "an artifact is placed life size"

    # Its hotspots came along and are selectable in AR. The session's reference space is the device's space
    # shifted (IWER puts 'local' at the starting head), so measure the shift on the controller itself.
    grip = (0.2, 1.3, -0.1)
    aim_right_controller(page, (0.2, 0.0, -1.0), grip=grip)
    seen = viewer_state(page, "xr")["xr"]["controllers"]["right"]
    shift = [s - g for s, g in zip(seen, grip, strict=True)]
    if state["hotspots"]:
        target = state["hotspots"][0]
        aim_right_controller(page, [t - d for t, d in zip(target["position"], shift, strict=True)], grip=grip)
        pull_trigger(page)
        assert viewer_state(page, "selectedAnnotation")["selectedAnnotation"] == target["key"]
        assert viewer_state(page, "ar")["ar"]["placed"] == 1, "selecting a hotspot does not move the model"

    # A table-top model of a room, chosen from the overlay while in AR.
    room = page.evaluate("__viewer.manifest.start.room")
    page.select_option("#ar-subject", f"room:{room}")
    aim_right_controller(page, (0.0, 0.0, -1.2), grip=grip)
    pull_trigger(page)
    state = viewer_state(page, "ar")["ar"]
    assert state["placed"] == 2 and state["subject"] == f"room:{room}", state
    assert 0 < state["scale"] < 0.2, "a room is placed as a table-top model"
    assert page.evaluate("document.getElementById('ar-overlay').contains(document.getElementById('panel'))")
    assert page.evaluate("__viewer.errors") == []
