import assert from 'node:assert/strict'
import { test } from 'node:test'

import { MAX_DOCUMENT_BYTES, photoProblem, progressPercent, retakes } from '../src/upload.js'

test('only JPEG or PNG photos up to 5 MiB are sent', () => {
  assert.equal(photoProblem({ type: 'image/jpeg', size: 1000 }), '')
  assert.equal(photoProblem({ type: 'image/png', size: MAX_DOCUMENT_BYTES }), '')
  assert.equal(photoProblem({ type: 'image/heic', size: 1000 }), 'upload.badType')
  assert.equal(photoProblem({ type: 'application/pdf', size: 1000 }), 'upload.badType')
  assert.equal(photoProblem({ type: 'image/jpeg', size: 0 }), 'upload.empty')
  assert.equal(photoProblem({ type: 'image/jpeg', size: MAX_DOCUMENT_BYTES + 1 }), 'upload.tooLarge')
  assert.equal(photoProblem(null), 'upload.noFile')
})

test('progress is whole percent and full only when S3 has answered', () => {
  assert.equal(progressPercent(0, 1000), 0)
  assert.equal(progressPercent(333, 1000), 33)
  assert.equal(progressPercent(999, 1000), 99)
  assert.equal(progressPercent(1000, 1000), 99)
  assert.equal(progressPercent(5, 0), 0)
  assert.equal(progressPercent(Number.NaN, 10), 0)
})

test('re-takes group the OCR findings by document, with the view\'s advice for each', () => {
  const view = {
    ocr_reasons: [
      { code: 'unreadable', message: 'id_front: no text found' },
      { code: 'field_missing', message: 'id_front: the name is missing' },
      { code: 'unreadable', message: 'bank_card: nothing read' },
    ],
    retake_reasons: [
      { document: 'id_front', code: 'glare', message: 'Light reflects off the card' },
      { document: 'id_front', code: 'blurred', message: 'The photo is blurred' },
    ],
  }
  assert.deepEqual(retakes(view), [
    { kind: 'id_front', messages: ['no text found', 'the name is missing'], reason: 'glare' },
    { kind: 'bank_card', messages: ['nothing read'], reason: null },
  ])
  // A code the page does not word itself brings the view's message along.
  assert.deepEqual(
    retakes({ retake_reasons: [{ document: 'bank_card', code: 'unclear', message: 'Retake it' }] }),
    [{ kind: 'bank_card', messages: ['Retake it'], reason: 'unclear' }],
  )
  assert.deepEqual(retakes({}), [])
})
