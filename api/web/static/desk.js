// The partner desk's small enhancements. Every form works without this file; with it:
// - the camera reads the card's QR: with the browser's BarcodeDetector where it exists,
//   otherwise by posting frames to the server, which decodes them with zxing-cpp;
// - a redeem button is disabled once pressed (the form's Idempotency-Key makes a second
//   post harmless anyway);
// - a result leaves the screen after the time the page states (partner_desk_clear_seconds),
//   so the next person in line does not see it, unless the desk asks to keep it longer;
// - the receipt can be printed, and the lookup by card number carries the police purpose.
"use strict";

(function () {
  const FRAME_EVERY_MS = 700;

  function csrfToken() {
    const field = document.querySelector('#scan-form input[name="csrf_token"]');
    return field ? field.value : "";
  }

  function purpose() {
    const field = document.querySelector("#purpose");
    return field ? field.value.trim() : "";
  }

  function incidentReference() {
    const field = document.querySelector("#incident_reference");
    return field ? field.value.trim() : "";
  }

  function initCamera() {
    const box = document.querySelector("[data-camera]");
    if (!box || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    const start = box.querySelector("[data-camera-start]");
    const stop = box.querySelector("[data-camera-stop]");
    const video = box.querySelector("video");
    const status = box.querySelector("[data-camera-status]");
    const scanForm = document.querySelector("#scan-form");
    let stream = null;
    let timer = null;
    let busy = false;
    box.hidden = false;

    function finish() {
      if (timer) clearTimeout(timer);
      timer = null;
      if (stream) stream.getTracks().forEach((track) => track.stop());
      stream = null;
      video.hidden = true;
      stop.hidden = true;
      start.hidden = false;
    }

    async function detectInBrowser(detector) {
      if (!stream) return;
      try {
        const codes = await detector.detect(video);
        const qr = codes.find((code) => code.rawValue);
        if (qr) {
          finish();
          scanForm.querySelector("#qr").value = qr.rawValue;
          scanForm.requestSubmit();
          return;
        }
      } catch (error) {
        // a frame that is not ready yet; try the next one
      }
      timer = setTimeout(() => detectInBrowser(detector), 150);
    }

    function frame() {
      const canvas = document.createElement("canvas");
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
    }

    async function detectOnServer() {
      if (!stream || busy) return;
      busy = true;
      try {
        if (video.videoWidth > 0) {
          const image = await frame();
          const response = await fetch("/partner/scan-image", {
            method: "POST", body: image, credentials: "same-origin",
            headers: {"content-type": "image/jpeg", "x-csrf-token": csrfToken(),
                      "x-purpose": purpose(), "x-incident-reference": incidentReference()},
          });
          if (response.status !== 204) {
            finish();
            const page = await response.text();
            document.open();
            document.write(page);
            document.close();
            return;
          }
        }
      } catch (error) {
        status.textContent = "The camera frame could not be sent; still trying.";
      } finally {
        busy = false;
      }
      timer = setTimeout(detectOnServer, FRAME_EVERY_MS);
    }

    start.addEventListener("click", async () => {
      const purposeField = document.querySelector("#purpose");
      if (purposeField && !purposeField.reportValidity()) return;
      const incidentField = document.querySelector("#incident_reference");
      if (incidentField && !incidentField.reportValidity()) return;
      try {
        stream = await navigator.mediaDevices.getUserMedia(
          {video: {facingMode: "environment"}, audio: false});
      } catch (error) {
        status.textContent = "The camera could not be started. Use the scanner or paste the code.";
        return;
      }
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      start.hidden = true;
      stop.hidden = false;
      status.textContent = "Hold the card's QR code in front of the camera.";
      let detector = null;
      if ("BarcodeDetector" in window) {
        try {
          const formats = await window.BarcodeDetector.getSupportedFormats();
          if (formats.includes("qr_code")) detector = new window.BarcodeDetector({formats: ["qr_code"]});
        } catch (error) {
          detector = null;
        }
      }
      if (detector) detectInBrowser(detector); else detectOnServer();
    });
    stop.addEventListener("click", () => {
      finish();
      status.textContent = "Camera stopped.";
    });
  }

  function initOnce() {
    document.querySelectorAll("form[data-once]").forEach((form) => {
      form.addEventListener("submit", () => {
        const button = form.querySelector("button[type=submit]");
        // After the submit has started: a disabled button would not be sent.
        setTimeout(() => { if (button) button.disabled = true; }, 0);
      });
    });
    document.querySelectorAll("form.photo-scan").forEach((form) => {
      form.addEventListener("submit", () => {
        const copy = form.querySelector("[data-purpose-copy]");
        if (copy) copy.value = purpose();
        const incident = form.querySelector("[data-incident-copy]");
        if (incident) incident.value = incidentReference();
      });
    });
  }

  function initClear() {
    const note = document.querySelector("[data-clear-after]");
    if (!note) return;
    const seconds = Number(note.dataset.clearAfter);
    if (!(seconds > 0)) return;
    const keep = note.querySelector("[data-clear-keep]");
    const status = note.querySelector("[data-clear-status]");
    // replace(): the cleared result is not one Back press away.
    const clear = () => window.location.replace("/partner");
    let timer = setTimeout(clear, seconds * 1000);
    if (keep) {
      keep.hidden = false;
      keep.addEventListener("click", () => {
        clearTimeout(timer);
        timer = setTimeout(clear, seconds * 1000);
        if (status) status.textContent = "Kept on screen; the time to clear starts again.";
      });
    }
  }

  function initReceipt() {
    document.querySelectorAll("[data-print]").forEach((button) => {
      button.hidden = false;
      button.addEventListener("click", () => window.print());
    });
    const form = document.querySelector("#lookup-form");
    const copy = form && form.querySelector("[data-lookup-purpose]");
    if (copy) form.addEventListener("submit", () => { copy.value = purpose(); });
  }

  function init() {
    initCamera();
    initOnce();
    initClear();
    initReceipt();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
