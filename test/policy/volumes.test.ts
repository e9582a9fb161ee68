// data-volumes-protected: a Cinder volume without `protect` is refused.
import { describe, expect, it } from "vitest";
import { analyze, by } from "./harness";

const volume = (type: string, protect: boolean) => ({
  type,
  name: "flotilla-mysql-data",
  props: { name: "flotilla-mysql-data", size: 50 },
  protect,
});

describe("data-volumes-protected", () => {
  it.each([
    "openstack:blockstorage/volume:Volume",
    "openstack:blockstorage/volumeV2:VolumeV2",
    "openstack:blockstorage/volumeV1:VolumeV1",
  ])("passes a protected %s and refuses an unprotected one", async (type) => {
    expect(by("data-volumes-protected", await analyze(volume(type, true)))).toEqual([]);
    const vs = by("data-volumes-protected", await analyze(volume(type, false)));
    expect(vs).toHaveLength(1);
    expect(vs[0].level).toBe("mandatory");
    expect(vs[0].message).toBe(
      "volume 'flotilla-mysql-data' is not protected: a replacement or a stack destroy would delete its data",
    );
  });

  it("leaves other resources alone (an unprotected volume attachment is fine)", async () => {
    const attach = {
      type: "openstack:compute/volumeAttach:VolumeAttach",
      props: { volumeId: "v" },
      protect: false,
    };
    expect(by("data-volumes-protected", await analyze(attach))).toEqual([]);
  });
});
