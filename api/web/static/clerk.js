// The clerk console's small enhancements. Every form works without this file; with it:
// - the document picker shows only the date and the checkboxes the chosen kind can have,
// - adding a document updates the tally in place (no page reload) and says so to screen readers,
// - the photo can come from the webcam (getUserMedia) and is cropped to 3:4 and shrunk before
//   upload, whichever way it was taken.
"use strict";

(function () {
  const PHOTO_WIDTH = 600;
  const PHOTO_HEIGHT = 800;

  function csrfToken(form) {
    const field = form.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  // --- the new application form: address fields follow the chosen kind -----------------
  function initAddress(root) {
    const fields = root.querySelector("[data-address-fields]");
    if (!fields) return;
    const careOfOnly = root.querySelector("[data-care-of-only]");
    const radios = root.querySelectorAll('input[name="address_kind"]');
    function update() {
      const chosen = root.querySelector('input[name="address_kind"]:checked');
      const kind = chosen ? chosen.value : "home";
      fields.hidden = kind === "none";
      careOfOnly.hidden = kind !== "care_of";
    }
    radios.forEach((radio) => radio.addEventListener("change", update));
    update();
  }

  // --- the document picker ---------------------------------------------------------------
  function initPicker(root) {
    const select = root.querySelector("#kind");
    if (!select) return;
    const dateFields = root.querySelectorAll("[data-date-field]");
    const checks = root.querySelectorAll("[data-showing]");
    function update() {
      const option = select.selectedOptions[0];
      const data = option && option.value ? option.dataset : null;
      dateFields.forEach((field) => {
        const shown = !data || data.date === field.dataset.dateField;
        field.hidden = !shown;
        const input = field.querySelector("input");
        input.disabled = !shown;
        input.required = Boolean(data) && shown;
      });
      checks.forEach((box) => {
        const showing = data ? data[box.dataset.showing] : "sometimes";
        // "always" and "never" are the rulebook's to say; only "sometimes" is the clerk's.
        box.disabled = showing !== "sometimes";
        if (showing === "always") box.checked = true;
        if (showing === "never") box.checked = false;
      });
    }
    select.addEventListener("change", update);
    update();
  }

  // --- forms that update the page in place ----------------------------------------------
  async function swapMain(response, focusId) {
    const html = await response.text();
    const doc = new DOMParser().parseFromString(html, "text/html");
    const fresh = doc.querySelector("main");
    const main = document.querySelector("main");
    if (!fresh || !main) {
      window.location.reload();
      return;
    }
    main.innerHTML = fresh.innerHTML;
    if (response.redirected) {
      history.replaceState(null, "", response.url);
    }
    init(main);
    const target = main.querySelector("#error-summary") || main.querySelector("#" + focusId);
    if (target) {
      target.focus();
      target.scrollIntoView({ block: "start" });
    }
  }

  function initEnhancedForms(root) {
    root.querySelectorAll("form[data-enhance]").forEach((form) => {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const button = form.querySelector('button[type="submit"]');
        if (button) button.disabled = true;
        try {
          const response = await fetch(form.action, {
            method: "POST", body: new FormData(form), credentials: "same-origin",
          });
          await swapMain(response, form.dataset.focus || "main");
        } catch (error) {
          form.submit();
        }
      });
    });
  }

  // --- the photo: webcam or file, cropped and shrunk, uploaded with the form's token ----
  function drawCropped(canvas, source, width, height) {
    const wanted = PHOTO_WIDTH / PHOTO_HEIGHT;
    let sw = width;
    let sh = height;
    if (width / height > wanted) sw = Math.round(height * wanted);
    else sh = Math.round(width / wanted);
    canvas.width = PHOTO_WIDTH;
    canvas.height = PHOTO_HEIGHT;
    canvas.getContext("2d").drawImage(
      source, (width - sw) / 2, (height - sh) / 2, sw, sh, 0, 0, PHOTO_WIDTH, PHOTO_HEIGHT);
  }

  function initPhoto(root) {
    const form = root.querySelector("#photo-form");
    if (!form) return;
    const camera = root.querySelector("[data-camera]");
    const video = root.querySelector("#camera-video");
    const preview = root.querySelector("#photo-preview");
    const start = root.querySelector("[data-camera-start]");
    const take = root.querySelector("[data-camera-take]");
    const message = root.querySelector("[data-camera-message]");
    const fileInput = form.querySelector('input[type="file"]');
    let pending = null; // a canvas holding the photo to save
    let stream = null;

    function stopCamera() {
      if (stream) stream.getTracks().forEach((track) => track.stop());
      stream = null;
      video.hidden = true;
      take.disabled = true;
    }

    if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
      camera.hidden = false;
      start.addEventListener("click", async () => {
        try {
          stream = await navigator.mediaDevices.getUserMedia({
            video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 720 } },
            audio: false,
          });
          video.srcObject = stream;
          video.hidden = false;
          await video.play();
          take.disabled = false;
          message.textContent = "Camera on. Centre the face, then take the photo.";
          take.focus();
        } catch (error) {
          message.textContent = "The camera could not start. Choose a photo file instead.";
        }
      });
      take.addEventListener("click", () => {
        drawCropped(preview, video, video.videoWidth, video.videoHeight);
        preview.hidden = false;
        pending = preview;
        stopCamera();
        message.textContent = "Photo taken. Save it, or start the camera again to retake it.";
      });
    }

    fileInput.addEventListener("change", () => {
      const file = fileInput.files && fileInput.files[0];
      if (!file) return;
      const url = URL.createObjectURL(file);
      const image = new Image();
      image.onload = () => {
        drawCropped(preview, image, image.naturalWidth, image.naturalHeight);
        URL.revokeObjectURL(url);
        preview.hidden = false;
        pending = preview;
      };
      image.onerror = () => {
        URL.revokeObjectURL(url);
        pending = null; // let the server say what is wrong with the file
      };
      image.src = url;
    });

    form.addEventListener("submit", (event) => {
      if (!pending) return; // nothing prepared: an ordinary form post
      event.preventDefault();
      const button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      pending.toBlob(async (blob) => {
        try {
          const response = await fetch(form.action, {
            method: "POST", body: blob, credentials: "same-origin",
            headers: { "Content-Type": "image/jpeg", "X-CSRF-Token": csrfToken(form) },
          });
          await swapMain(response, form.dataset.focus || "photo");
        } catch (error) {
          button.disabled = false;
        }
      }, "image/jpeg", 0.9);
    });
  }

  function init(root) {
    initAddress(root);
    initPicker(root);
    initEnhancedForms(root);
    initPhoto(root);
  }

  init(document);
})();
