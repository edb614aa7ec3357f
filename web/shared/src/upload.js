// The documents step: what a photo must be before the API is even asked, the presigned
// POST with upload progress (fetch reports none, XMLHttpRequest does), and the re-take
// reasons the OCR gives.

export const ACCEPTED_TYPES = ['image/jpeg', 'image/png']
export const MAX_DOCUMENT_BYTES = 5 * 1024 * 1024 // the API's limit (lending.documents.kinds)

/**
 * Why a chosen file cannot be sent, as an i18n key, or '' when it can.
 * @param {{type: string, size: number}} file
 */
export function photoProblem(file) {
  if (!file) return 'upload.noFile'
  if (!ACCEPTED_TYPES.includes(file.type)) return 'upload.badType'
  if (!(file.size > 0)) return 'upload.empty'
  if (file.size > MAX_DOCUMENT_BYTES) return 'upload.tooLarge'
  return ''
}

/**
 * Whole percent sent, 0..100, from an upload's progress event (never 100 before the end:
 * the bar is full only when S3 has answered).
 */
export function progressPercent(loaded, total) {
  if (!(total > 0) || !(loaded >= 0)) return 0
  return Math.min(99, Math.floor((loaded * 100) / total))
}

export class UploadError extends Error {
  constructor(status, message) {
    super(message)
    this.status = status
  }
}

/**
 * POST `file` to a presigned POST (`url` and its signed `fields`, then the file last, as
 * S3 requires), reporting progress. Resolves when S3 has stored it.
 */
export function postPresigned({ url, fields }, file, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const form = new FormData()
    for (const [name, value] of Object.entries(fields)) form.append(name, value)
    form.append('file', file)
    const xhr = new XMLHttpRequest()
    xhr.open('POST', url)
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(progressPercent(e.loaded, e.total))
    }
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(100)
        resolve(xhr.status)
      } else {
        // S3 answers refusals in XML: <Code>EntityTooLarge</Code>...
        const code = /<Code>([^<]+)<\/Code>/.exec(xhr.responseText || '')?.[1]
        reject(new UploadError(xhr.status, code || `HTTP ${xhr.status}`))
      }
    }
    xhr.onerror = () => reject(new UploadError(0, 'network'))
    xhr.onabort = () => reject(new UploadError(0, 'aborted'))
    xhr.send(form)
  })
}

// The application view's re-take codes (`retake_reasons[].code`) the page words itself;
// any other code is shown with the view's own message.
export const RETAKE_REASONS = ['blurred', 'glare', 'cut_off', 'too_small', 'too_dark', 'no_document']

/**
 * What to ask the applicant to re-take, from the application view: per document kind,
 * the OCR findings' messages ("id_front: ...") and the view's re-take advice for that
 * document (`retake_reasons`: {document, code, message}; the first code wins).
 * @returns {{kind: string, messages: string[], reason: string|null}[]}
 */
export function retakes(view) {
  const byKind = new Map()
  const entry = (kind) => {
    if (!byKind.has(kind)) byKind.set(kind, { kind, messages: [], reason: null })
    return byKind.get(kind)
  }
  for (const finding of view?.ocr_reasons || []) {
    const match = /^([a-z_]+):\s*(.*)$/s.exec(String(finding.message || ''))
    entry(match ? match[1] : '').messages.push(
      match ? match[2] : String(finding.message || finding.code || ''),
    )
  }
  for (const advice of view?.retake_reasons || []) {
    const e = entry(String(advice.document || ''))
    if (!e.reason && typeof advice.code === 'string') e.reason = advice.code
    if (!RETAKE_REASONS.includes(advice.code) && advice.message) e.messages.push(String(advice.message))
  }
  return [...byKind.values()]
}
